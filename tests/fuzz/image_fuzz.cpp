// libFuzzer target for image decoding (datasets/image.hpp): any bytes either
// decode to an image of the size the header gave (at the chosen DCT scale)
// or give a cir::Error, never another exception, a crash or an allocation
// beyond the pixel limit. The last byte picks the scale, 1/8 … 1.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "common/error.hpp"
#include "datasets/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const double min_scale = (1 + data[size - 1] % 8) / 8.0;
  const std::span<const std::uint8_t> bytes(data, size - 1);
  try {
    const auto probed = cir::datasets::probe_image(bytes, "fuzz");
    const auto decoded = cir::datasets::decode_image(bytes, "fuzz", min_scale);
    if (decoded.full.width != probed.width || decoded.full.height != probed.height) std::abort();
    if (decoded.image.pixels.size() !=
        static_cast<std::size_t>(decoded.image.width) * static_cast<std::size_t>(decoded.image.height) * 3)
      std::abort();
  } catch (const cir::Error&) {
  }
  return 0;
}
