#include "model/io/safetensors_header.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/text.hpp"

namespace cir::model {

namespace {

// The safetensors header is limited to 100 MB by the reference implementation.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

[[noreturn]] void corrupt(const std::filesystem::path& path, const std::string& message) {
  throw Error("safetensors: " + message, Where{.file = path.string()},
              "the file is truncated, corrupt or not a safetensors file; write it again");
}

}  // namespace

std::string supported_safetensors_dtypes() {
  std::string out;
  for (const auto& d : kSafetensorsDtypes) {
    if (!out.empty()) out += ", ";
    out += d.name;
  }
  return out;
}

SafetensorsHeader read_safetensors_header(std::string_view bytes, const std::filesystem::path& path) {
  const std::uint64_t file_size = bytes.size();
  if (file_size < 8) {
    corrupt(path, "file has " + std::to_string(file_size) + " bytes, fewer than the 8-byte header length");
  }
  std::uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  if (header_size > kMaxHeaderBytes) {
    corrupt(path, "header length " + std::to_string(header_size) + " exceeds the 100 MB limit");
  }
  if (header_size > file_size - 8) {
    corrupt(path, "header length " + std::to_string(header_size) + " runs past the end of the " +
                      std::to_string(file_size) + "-byte file");
  }
  const std::string_view text = bytes.substr(8, header_size);
  const std::uint64_t data_size = file_size - 8 - header_size;
  SafetensorsHeader out;
  out.data_offset = 8 + header_size;

  nlohmann::json header;
  try {
    header = parse_json(text);
  } catch (const nlohmann::json::parse_error& e) {
    corrupt(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) corrupt(path, "header is JSON but not an object");

  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) corrupt(path, "__metadata__ is not an object of strings");
      for (const auto& [key, item] : value.items()) {
        if (!item.is_string()) corrupt(path, "__metadata__ value '" + key + "' is not a string");
        out.metadata[key] = item.get<std::string>();
      }
      continue;
    }
    const std::string what = "tensor '" + name + "': ";
    if (!value.is_object()) corrupt(path, what + "entry is not an object");
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
      if (!value.contains(field)) corrupt(path, what + "no '" + field + "'");
    }
    SafetensorsHeaderEntry entry;
    entry.name = name;
    if (!value["dtype"].is_string()) corrupt(path, what + "dtype is not a string");
    entry.dtype = value["dtype"].get<std::string>();
    const auto* dtype = std::find_if(std::begin(kSafetensorsDtypes), std::end(kSafetensorsDtypes),
                                     [&](const SafetensorsDtype& d) { return entry.dtype == d.name; });
    if (dtype == std::end(kSafetensorsDtypes)) {
      throw Error("safetensors: " + what + "unsupported dtype '" + entry.dtype + "'",
                  Where{.file = path.string()},
                  "supported: " + supported_safetensors_dtypes() + "; convert the file to one of them");
    }

    const auto& shape = value["shape"];
    if (!shape.is_array()) corrupt(path, what + "shape is not an array");
    std::uint64_t elements = 1;
    bool overflow = false;
    for (const auto& dim : shape) {
      if (!dim.is_number_integer() || dim.get<std::int64_t>() < 0) {
        corrupt(path,
                what + "shape " + json_brief(shape) + " holds something other than non-negative integers");
      }
      const auto d = dim.get<std::uint64_t>();
      if (d != 0 && elements > std::numeric_limits<std::uint64_t>::max() / d) overflow = true;
      elements *= d;
      entry.shape.push_back(static_cast<std::int64_t>(d));
    }
    const std::uint64_t element_size = dtype->element_size;
    if (overflow || elements > std::numeric_limits<std::uint64_t>::max() / element_size) {
      corrupt(path, what + "shape " + json_brief(shape) + " is too large");
    }

    const auto& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      corrupt(path, what + "data_offsets " + json_brief(offsets) + " is not a pair of non-negative integers");
    }
    entry.begin = offsets[0].get<std::uint64_t>();
    entry.end = offsets[1].get<std::uint64_t>();
    if (entry.begin > entry.end)
      corrupt(path, what + "data_offsets " + json_brief(offsets) + " run backwards");
    if (entry.end > data_size) {
      corrupt(path, what + "data_offsets " + json_brief(offsets) + " run past the " +
                        std::to_string(data_size) + "-byte data section");
    }
    if (entry.end - entry.begin != elements * element_size) {
      corrupt(path, what + "data_offsets " + json_brief(offsets) + " hold " +
                        std::to_string(entry.end - entry.begin) + " bytes but " + entry.dtype + " " +
                        json_brief(shape) + " needs " + std::to_string(elements * element_size));
    }
    out.entries.push_back(std::move(entry));
  }

  // The data section must be covered exactly: no holes, no overlaps.
  std::vector<const SafetensorsHeaderEntry*> by_offset;
  for (const auto& e : out.entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const auto* a, const auto* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t covered = 0;
  for (const auto* e : by_offset) {
    if (e->begin != covered) {
      corrupt(path, "tensor '" + e->name + "': data starts at byte " + std::to_string(e->begin) +
                        ", expected " + std::to_string(covered) +
                        (e->begin < covered ? " (overlaps another tensor)" : " (hole)"));
    }
    covered = e->end;
  }
  if (covered != data_size) {
    corrupt(path, "tensors cover " + std::to_string(covered) + " bytes of the " + std::to_string(data_size) +
                      "-byte data section");
  }
  std::sort(out.entries.begin(), out.entries.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

}  // namespace cir::model
