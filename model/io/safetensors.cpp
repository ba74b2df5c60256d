#include "model/io/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.hpp"
#include "common/file_io.hpp"
#include "common/text.hpp"

namespace cir::model {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this reader copies bytes as they are");

namespace {

// The safetensors header is limited to 100 MB by the reference implementation.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
    {"I64", torch::kInt64},   {"I32", torch::kInt32},   {"I16", torch::kInt16},   {"I8", torch::kInt8},
    {"U8", torch::kUInt8},    {"BOOL", torch::kBool},
};

std::string supported_dtypes() {
  std::string out;
  for (const auto& d : kDtypes) {
    if (!out.empty()) out += ", ";
    out += d.name;
  }
  return out;
}

[[noreturn]] void corrupt(const std::filesystem::path& path, const std::string& message) {
  throw Error("safetensors: " + message, Where{.file = path.string()},
              "the file is truncated, corrupt or not a safetensors file; write it again");
}

}  // namespace

std::string safetensors_dtype(torch::ScalarType type) {
  for (const auto& d : kDtypes) {
    if (d.type == type) return d.name;
  }
  throw Error(std::string("safetensors cannot hold tensors of dtype ") + c10::toString(type), {},
              "supported: " + supported_dtypes());
}

struct SafetensorsFile::Mapping {
  void* address = MAP_FAILED;
  std::size_t size = 0;
  ~Mapping() {
    if (address != MAP_FAILED) munmap(address, size);
  }
};

SafetensorsFile::SafetensorsFile(std::filesystem::path path)
    : path_(std::move(path)), mapping_(std::make_unique<Mapping>()) {
  const UniqueFd fd = open_file(path_, O_RDONLY);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_sys_error(errno, path_, "stat");
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  if (file_size < 8) {
    corrupt(path_, "file has " + std::to_string(file_size) + " bytes, fewer than the 8-byte header length");
  }
  mapping_->size = static_cast<std::size_t>(file_size);
  mapping_->address = ::mmap(nullptr, mapping_->size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (mapping_->address == MAP_FAILED) throw_sys_error(errno, path_, "map");

  const auto* bytes = static_cast<const std::byte*>(mapping_->address);
  std::uint64_t header_size = 0;
  std::memcpy(&header_size, bytes, 8);
  if (header_size > kMaxHeaderBytes) {
    corrupt(path_, "header length " + std::to_string(header_size) + " exceeds the 100 MB limit");
  }
  if (header_size > file_size - 8) {
    corrupt(path_, "header length " + std::to_string(header_size) + " runs past the end of the " +
                       std::to_string(file_size) + "-byte file");
  }
  const std::string_view header_text(reinterpret_cast<const char*>(bytes + 8), header_size);
  data_ = bytes + 8 + header_size;
  const std::uint64_t data_size = file_size - 8 - header_size;

  nlohmann::json header;
  try {
    header = parse_json(header_text);
  } catch (const nlohmann::json::parse_error& e) {
    corrupt(path_, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) corrupt(path_, "header is JSON but not an object");

  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) corrupt(path_, "__metadata__ is not an object of strings");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string()) corrupt(path_, "__metadata__ value '" + key + "' is not a string");
        metadata_[key] = text.get<std::string>();
      }
      continue;
    }
    const std::string what = "tensor '" + name + "': ";
    if (!value.is_object()) corrupt(path_, what + "entry is not an object");
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
      if (!value.contains(field)) corrupt(path_, what + "no '" + field + "'");
    }
    SafetensorsEntry entry;
    entry.name = name;
    if (!value["dtype"].is_string()) corrupt(path_, what + "dtype is not a string");
    entry.dtype = value["dtype"].get<std::string>();
    const auto* dtype = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                     [&](const DtypeInfo& d) { return entry.dtype == d.name; });
    if (dtype == std::end(kDtypes)) {
      throw Error("safetensors: " + what + "unsupported dtype '" + entry.dtype + "'",
                  Where{.file = path_.string()},
                  "supported: " + supported_dtypes() + "; convert the file to one of them");
    }
    entry.scalar_type = dtype->type;

    const auto& shape = value["shape"];
    if (!shape.is_array()) corrupt(path_, what + "shape is not an array");
    std::uint64_t elements = 1;
    bool overflow = false;
    for (const auto& dim : shape) {
      if (!dim.is_number_integer() || dim.get<std::int64_t>() < 0) {
        corrupt(path_,
                what + "shape " + json_brief(shape) + " holds something other than non-negative integers");
      }
      const auto d = dim.get<std::uint64_t>();
      if (d != 0 && elements > std::numeric_limits<std::uint64_t>::max() / d) overflow = true;
      elements *= d;
      entry.shape.push_back(static_cast<std::int64_t>(d));
    }
    const auto element_size = static_cast<std::uint64_t>(c10::elementSize(entry.scalar_type));
    if (overflow || elements > std::numeric_limits<std::uint64_t>::max() / element_size) {
      corrupt(path_, what + "shape " + json_brief(shape) + " is too large");
    }

    const auto& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      corrupt(path_,
              what + "data_offsets " + json_brief(offsets) + " is not a pair of non-negative integers");
    }
    entry.begin = offsets[0].get<std::uint64_t>();
    entry.end = offsets[1].get<std::uint64_t>();
    if (entry.begin > entry.end)
      corrupt(path_, what + "data_offsets " + json_brief(offsets) + " run backwards");
    if (entry.end > data_size) {
      corrupt(path_, what + "data_offsets " + json_brief(offsets) + " run past the " +
                         std::to_string(data_size) + "-byte data section");
    }
    if (entry.end - entry.begin != elements * element_size) {
      corrupt(path_, what + "data_offsets " + json_brief(offsets) + " hold " +
                         std::to_string(entry.end - entry.begin) + " bytes but " + entry.dtype + " " +
                         json_brief(shape) + " needs " + std::to_string(elements * element_size));
    }
    entries_.push_back(std::move(entry));
  }

  // The data section must be covered exactly: no holes, no overlaps.
  std::vector<const SafetensorsEntry*> by_offset;
  for (const auto& e : entries_) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const auto* a, const auto* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t covered = 0;
  for (const auto* e : by_offset) {
    if (e->begin != covered) {
      corrupt(path_, "tensor '" + e->name + "': data starts at byte " + std::to_string(e->begin) +
                         ", expected " + std::to_string(covered) +
                         (e->begin < covered ? " (overlaps another tensor)" : " (hole)"));
    }
    covered = e->end;
  }
  if (covered != data_size) {
    corrupt(path_, "tensors cover " + std::to_string(covered) + " bytes of the " + std::to_string(data_size) +
                       "-byte data section");
  }
  std::sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
}

SafetensorsFile::~SafetensorsFile() = default;

namespace {

std::vector<SafetensorsEntry>::const_iterator find_entry(const std::vector<SafetensorsEntry>& entries,
                                                         const std::string& name) {
  const auto it =
      std::lower_bound(entries.begin(), entries.end(), name,
                       [](const SafetensorsEntry& e, const std::string& n) { return e.name < n; });
  return it != entries.end() && it->name == name ? it : entries.end();
}

}  // namespace

bool SafetensorsFile::contains(const std::string& name) const {
  return find_entry(entries_, name) != entries_.end();
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  const auto it = find_entry(entries_, name);
  if (it == entries_.end()) {
    throw Error("safetensors: no tensor named '" + name + "'", Where{.file = path_.string()});
  }
  return *it;
}

torch::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const auto& e = entry(name);
  auto out = torch::empty(e.shape, torch::TensorOptions().dtype(e.scalar_type));
  if (e.end > e.begin) std::memcpy(out.data_ptr(), data_ + e.begin, e.end - e.begin);
  return out;
}

NamedTensors SafetensorsFile::tensors() const {
  NamedTensors out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) out.emplace_back(e.name, tensor(e.name));
  return out;
}

void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const Where where{.file = path.string()};
  std::set<std::string> names;
  std::vector<std::pair<std::string, torch::Tensor>> laid_out;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty() || name == "__metadata__") {
      throw Error("cannot write a tensor named '" + name + "' to safetensors", where);
    }
    if (!names.insert(name).second) throw Error("tensor '" + name + "' is named twice", where);
    if (!tensor.defined()) throw Error("tensor '" + name + "' is undefined", where);
    safetensors_dtype(tensor.scalar_type());
    laid_out.emplace_back(name, tensor.detach().to(torch::kCPU).contiguous());
  }
  std::stable_sort(laid_out.begin(), laid_out.end(), [](const auto& a, const auto& b) {
    const auto sa = a.second.element_size(), sb = b.second.element_size();
    return sa != sb ? sa > sb : a.first < b.first;
  });

  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : laid_out) {
    const auto bytes = static_cast<std::uint64_t>(tensor.numel()) * tensor.element_size();
    header[name] = {{"dtype", safetensors_dtype(tensor.scalar_type())},
                    {"shape", tensor.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  const std::uint64_t header_size = header_text.size();

  std::vector<std::string_view> pieces{std::string_view(reinterpret_cast<const char*>(&header_size), 8),
                                       header_text};
  for (const auto& [name, tensor] : laid_out) {
    pieces.emplace_back(static_cast<const char*>(tensor.data_ptr()), tensor.numel() * tensor.element_size());
  }
  // A temporary name of its own per write, for writers in other threads or
  // processes that replace the same file.
  static std::atomic<std::uint64_t> writes{0};
  auto temporary = path;
  temporary += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(writes++);
  replace_file(path, pieces, temporary);
}

}  // namespace cir::model
