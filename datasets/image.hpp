// Image files: JPEG through libjpeg-turbo's TurboJPEG API (with DCT-domain
// downscaling when the caller needs far fewer pixels than the file has), PNG
// through libpng. Decoded images are 8-bit RGB, row-major, 3 bytes a pixel.
// Every failure is a cir::Error naming the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace cir::datasets {

struct ImageSize {
  int width = 0, height = 0;
};

// An 8-bit RGB image, rows top to bottom, pixels left to right.
struct Rgb8 {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;  // width * height * 3

  Rgb8() = default;
  Rgb8(int w, int h) : width(w), height(h), pixels(static_cast<std::size_t>(w) * h * 3) {}
  std::uint8_t* row(int y) { return pixels.data() + static_cast<std::size_t>(y) * width * 3; }
  const std::uint8_t* row(int y) const { return pixels.data() + static_cast<std::size_t>(y) * width * 3; }
};

enum class ImageFormat { jpeg, png, unknown };

// The format named by the file's first bytes (not its extension).
ImageFormat sniff_format(std::span<const std::uint8_t> bytes);

// The whole file; throws cir::Error naming it when it cannot be read.
std::vector<std::uint8_t> read_file(const std::filesystem::path& path);

// Width and height from the file's header, without decoding the pixels.
ImageSize probe_image(std::span<const std::uint8_t> bytes, const std::string& name);

// A decoded image and its scale relative to the file's full size
// (decoded width ≈ full width × scale).
struct Decoded {
  Rgb8 image;
  ImageSize full;
  double scale = 1.0;
};

// Decodes a JPEG or PNG held in `bytes` (`name` is the path used in errors).
// A JPEG may come back reduced by a DCT scaling factor s (1/8 … 1) when
// s ≥ min_scale, the smallest such factor; min_scale = 1 decodes in full.
// Truncated or corrupt data is an error, never a silently grey image.
Decoded decode_image(std::span<const std::uint8_t> bytes, const std::string& name, double min_scale = 1.0);

// The same for a file.
Decoded decode_file(const std::filesystem::path& path, double min_scale = 1.0);

// Writers for cir-data export and the tests (parent folders must exist).
void write_jpeg(const std::filesystem::path& path, const Rgb8& image, int quality = 92);
void write_png(const std::filesystem::path& path, const Rgb8& image);

}  // namespace cir::datasets
