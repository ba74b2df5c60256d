// libFuzzer target for the safetensors header (model/io/safetensors_header.hpp):
// any bytes, taken as a whole file, either give a header whose entries lie
// inside the file and cover its data section or a cir::Error, never another
// exception or a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/error.hpp"
#include "model/io/safetensors_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const auto header = cir::model::read_safetensors_header(bytes, "fuzz.safetensors");
    for (const auto& entry : header.entries)
      if (entry.begin > entry.end || header.data_offset + entry.end > size) std::abort();
  } catch (const cir::Error&) {
  }
  return 0;
}
