// The header of a safetensors file (model/io/safetensors.hpp), checked
// without LibTorch so that the libFuzzer target for it
// (tests/fuzz/safetensors_fuzz.cpp) builds in the torch-free half: known
// dtype, non-negative shape, byte ranges that match the shape, lie inside
// the data section and cover it without holes or overlaps.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cir::model {

// The dtypes cir reads, in the file's spelling, with their element sizes.
struct SafetensorsDtype {
  const char* name;
  std::uint64_t element_size;
};
inline constexpr SafetensorsDtype kSafetensorsDtypes[] = {
    {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
    {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1},
};

// "F64, F32, …", for messages.
std::string supported_safetensors_dtypes();

// One tensor as the header describes it; `begin`/`end` are byte offsets
// into the data section (after the header).
struct SafetensorsHeaderEntry {
  std::string name;
  std::string dtype;  // one of kSafetensorsDtypes
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

struct SafetensorsHeader {
  std::vector<SafetensorsHeaderEntry> entries;  // sorted by name
  std::map<std::string, std::string> metadata;  // "__metadata__"
  std::uint64_t data_offset = 0;                // where the data section starts in the file
};

// The header of the whole file `bytes`, checked against the file's size;
// throws cir::Error naming `path` (and the offending tensor) for a file that
// is truncated, corrupt or not safetensors.
SafetensorsHeader read_safetensors_header(std::string_view bytes, const std::filesystem::path& path);

}  // namespace cir::model
