// libFuzzer target for the spec loader: any bytes must either load and expand
// or give a cir::Error — never another exception or a crash. Built with
// -DCIR_FUZZ=ON and clang; scripts/fuzz.sh runs it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/error.hpp"
#include "launcher/expand.hpp"
#include "launcher/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto spec = cir::launcher::load_spec_text(text, "fuzz.toml");
    cir::launcher::expand(spec);
  } catch (const cir::Error&) {
  }
  return 0;
}
