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
#include "model/io/safetensors_header.hpp"

namespace cir::model {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this reader copies bytes as they are");

namespace {

struct DtypeType {
  const char* name;
  torch::ScalarType type;
};

// LibTorch's type of each of the dtypes cir reads (kSafetensorsDtypes).
constexpr DtypeType kTypes[] = {
    {"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
    {"I64", torch::kInt64},   {"I32", torch::kInt32},   {"I16", torch::kInt16},   {"I8", torch::kInt8},
    {"U8", torch::kUInt8},    {"BOOL", torch::kBool},
};
static_assert(std::size(kTypes) == std::size(kSafetensorsDtypes));

torch::ScalarType scalar_type(const std::string& dtype) {
  return std::find_if(std::begin(kTypes), std::end(kTypes),
                      [&](const DtypeType& d) { return dtype == d.name; })
      ->type;
}

}  // namespace

std::string safetensors_dtype(torch::ScalarType type) {
  for (const auto& d : kTypes) {
    if (d.type == type) return d.name;
  }
  throw Error(std::string("safetensors cannot hold tensors of dtype ") + c10::toString(type), {},
              "supported: " + supported_safetensors_dtypes());
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
  mapping_->size = static_cast<std::size_t>(st.st_size);
  // mmap refuses an empty mapping; the header check refuses the empty file.
  if (mapping_->size > 0) {
    mapping_->address = ::mmap(nullptr, mapping_->size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (mapping_->address == MAP_FAILED) throw_sys_error(errno, path_, "map");
  }
  const auto* bytes = static_cast<const char*>(mapping_->size > 0 ? mapping_->address : nullptr);
  SafetensorsHeader header = read_safetensors_header(std::string_view(bytes, mapping_->size), path_);
  data_ = reinterpret_cast<const std::byte*>(bytes) + header.data_offset;
  metadata_ = std::move(header.metadata);
  for (auto& e : header.entries) {
    entries_.push_back(SafetensorsEntry{.name = std::move(e.name),
                                        .dtype = e.dtype,
                                        .scalar_type = scalar_type(e.dtype),
                                        .shape = std::move(e.shape),
                                        .begin = e.begin,
                                        .end = e.end});
  }
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
