// Safetensors files (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length, a JSON header naming each tensor's dtype, shape
// and byte range, then the raw data. The reader maps the file (mmap) and
// checks every claim of the header against the file before handing out a
// tensor: known dtype, non-negative shape, byte ranges that match the shape,
// lie inside the file, and cover the data without holes or overlaps (as the
// reference implementation requires). Every error names the file.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cir::model {

// One tensor as the header describes it. `begin`/`end` are byte offsets into
// the data section (after the header).
struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // the file's spelling: "F32", "BF16", "I64", …
  torch::ScalarType scalar_type;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

// Named tensors in a fixed order, as files are written and modules list them.
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// The safetensors dtype spelling of a LibTorch scalar type; throws cir::Error
// for one safetensors cannot hold.
std::string safetensors_dtype(torch::ScalarType type);

// A safetensors file opened for reading. The mapping lives as long as the
// object; tensors handed out are copies and outlive it.
class SafetensorsFile {
 public:
  // Maps and validates `path`; throws cir::Error (naming the file and the
  // offending tensor) if it is missing, truncated or its header is wrong.
  // Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.
  explicit SafetensorsFile(std::filesystem::path path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The entries, sorted by name.
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  // The header's "__metadata__" (string to string; empty when absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  bool contains(const std::string& name) const;
  // The entry named `name`; throws cir::Error naming the file if absent.
  const SafetensorsEntry& entry(const std::string& name) const;
  // A CPU tensor holding a copy of the named tensor's data, in its stored dtype.
  torch::Tensor tensor(const std::string& name) const;
  // Every tensor, sorted by name.
  NamedTensors tensors() const;

 private:
  struct Mapping;
  std::filesystem::path path_;
  std::unique_ptr<Mapping> mapping_;
  const std::byte* data_ = nullptr;  // start of the data section
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Writes `tensors` (any device, any layout; stored contiguous, in their
// dtype) and `metadata` to `path` atomically: a temporary file beside it is
// written, flushed and renamed, so a crash leaves the old file or the new
// one, never half of one. Names must be unique, non-empty and not
// "__metadata__". Like the reference writer, tensors are laid out by element
// size (largest first), then by name, and the header is padded with spaces to
// a multiple of 8 bytes, so every tensor's data starts aligned for its dtype.
void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace cir::model
