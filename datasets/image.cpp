#include "datasets/image.hpp"

#include <fmt/format.h>
#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>

#include "common/error.hpp"

namespace cir::datasets {
namespace {

Error image_error(const std::string& name, const std::string& what) {
  return Error(what, Where{.file = name},
               "re-download or re-export the file; `cir-data validate ROOT --dataset NAME` lists every "
               "unreadable image");
}

// One TurboJPEG handle per thread and direction: handles are not thread-safe.
struct TjHandle {
  tjhandle handle;
  explicit TjHandle(bool compress) : handle(compress ? tjInitCompress() : tjInitDecompress()) {
    if (handle == nullptr)
      throw Error("cannot initialise libjpeg-turbo: " + std::string(tjGetErrorStr2(nullptr)));
  }
  ~TjHandle() { tjDestroy(handle); }
  TjHandle(const TjHandle&) = delete;
  TjHandle& operator=(const TjHandle&) = delete;
};

tjhandle decompressor() {
  thread_local TjHandle h(false);
  return h.handle;
}

tjhandle compressor() {
  thread_local TjHandle h(true);
  return h.handle;
}

// The most pixels an image may have (width × height): a decoded image is held
// whole in memory, 3 bytes a pixel, and the datasets' images have about a
// million. A header that claims more is refused before any pixel buffer is
// allocated (a 65500 × 65500 JPEG header would ask for 12 GB).
constexpr std::uint64_t kMaxImagePixels = 50'000'000;

ImageSize checked_size(std::uint64_t width, std::uint64_t height, const std::string& name) {
  if (width == 0 || height == 0 || width * height > kMaxImagePixels)
    throw image_error(
        name, fmt::format("the header claims {} × {} pixels; cir reads images of 1 to {} pixels", width,
                          height, kMaxImagePixels));
  return {static_cast<int>(width), static_cast<int>(height)};
}

ImageSize jpeg_size(std::span<const std::uint8_t> bytes, const std::string& name) {
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(decompressor(), bytes.data(), static_cast<unsigned long>(bytes.size()), &width,
                          &height, &subsampling, &colorspace) != 0)
    throw image_error(name, "corrupt JPEG header: " + std::string(tjGetErrorStr2(decompressor())));
  return checked_size(static_cast<std::uint64_t>(std::max(width, 0)),
                      static_cast<std::uint64_t>(std::max(height, 0)), name);
}

Decoded decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& name, double min_scale) {
  Decoded out;
  out.full = jpeg_size(bytes, name);
  // The scaling factors ≤ 1, largest first; keep the smallest one still ≥ min_scale.
  int count = 0;
  const tjscalingfactor* factors = tjGetScalingFactors(&count);
  tjscalingfactor chosen{1, 1};
  for (int i = 0; i < count; ++i) {
    const double s = static_cast<double>(factors[i].num) / factors[i].denom;
    if (s <= 1.0 && s >= min_scale && s < static_cast<double>(chosen.num) / chosen.denom) chosen = factors[i];
  }
  const int width = TJSCALED(out.full.width, chosen);
  const int height = TJSCALED(out.full.height, chosen);
  out.image = Rgb8(width, height);
  out.scale = static_cast<double>(width) / out.full.width;
  if (tjDecompress2(decompressor(), bytes.data(), static_cast<unsigned long>(bytes.size()),
                    out.image.pixels.data(), width, width * 3, height, TJPF_RGB,
                    TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING) != 0)
    throw image_error(name, "corrupt or truncated JPEG: " + std::string(tjGetErrorStr2(decompressor())));
  return out;
}

struct PngImage {
  png_image image;
  PngImage() {
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
  }
  ~PngImage() { png_image_free(&image); }
};

Decoded decode_png(std::span<const std::uint8_t> bytes, const std::string& name) {
  PngImage png;
  if (!png_image_begin_read_from_memory(&png.image, bytes.data(), bytes.size()))
    throw image_error(name, "corrupt PNG header: " + std::string(png.image.message));
  png.image.format = PNG_FORMAT_RGB;
  Decoded out;
  out.full = checked_size(png.image.width, png.image.height, name);
  out.image = Rgb8(out.full.width, out.full.height);
  // Images with alpha are composited onto white, as a viewer shows them.
  const png_color white{255, 255, 255};
  if (!png_image_finish_read(&png.image, &white, out.image.pixels.data(), out.full.width * 3, nullptr))
    throw image_error(name, "corrupt or truncated PNG: " + std::string(png.image.message));
  return out;
}

}  // namespace

ImageFormat sniff_format(std::span<const std::uint8_t> bytes) {
  if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) return ImageFormat::jpeg;
  static constexpr std::uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), png_magic, 8) == 0) return ImageFormat::png;
  return ImageFormat::unknown;
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    std::error_code ec;
    throw Error(std::filesystem::exists(path, ec) ? "cannot read the file" : "no such file",
                Where{.file = path.string()});
  }
  const auto size = static_cast<std::size_t>(in.tellg());
  std::vector<std::uint8_t> bytes(size);
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    throw Error("cannot read the file", Where{.file = path.string()});
  return bytes;
}

ImageSize probe_image(std::span<const std::uint8_t> bytes, const std::string& name) {
  switch (sniff_format(bytes)) {
    case ImageFormat::jpeg:
      return jpeg_size(bytes, name);
    case ImageFormat::png: {
      PngImage png;
      if (!png_image_begin_read_from_memory(&png.image, bytes.data(), bytes.size()))
        throw image_error(name, "corrupt PNG header: " + std::string(png.image.message));
      return checked_size(png.image.width, png.image.height, name);
    }
    case ImageFormat::unknown:
      break;
  }
  throw image_error(name, bytes.empty() ? "empty file, not an image" : "neither a JPEG nor a PNG file");
}

Decoded decode_image(std::span<const std::uint8_t> bytes, const std::string& name, double min_scale) {
  switch (sniff_format(bytes)) {
    case ImageFormat::jpeg:
      return decode_jpeg(bytes, name, min_scale);
    case ImageFormat::png:
      return decode_png(bytes, name);
    case ImageFormat::unknown:
      break;
  }
  throw image_error(name, bytes.empty() ? "empty file, not an image" : "neither a JPEG nor a PNG file");
}

Decoded decode_file(const std::filesystem::path& path, double min_scale) {
  const auto bytes = read_file(path);
  return decode_image(bytes, path.string(), min_scale);
}

void write_jpeg(const std::filesystem::path& path, const Rgb8& image, int quality) {
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  if (tjCompress2(compressor(), image.pixels.data(), image.width, image.width * 3, image.height, TJPF_RGB,
                  &buffer, &size, TJSAMP_420, quality, TJFLAG_ACCURATEDCT) != 0)
    throw Error("cannot encode JPEG: " + std::string(tjGetErrorStr2(compressor())),
                Where{.file = path.string()});
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(buffer, tjFree);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(buffer), static_cast<std::streamsize>(size));
  if (!out) throw Error("cannot write the file", Where{.file = path.string()});
}

void write_png(const std::filesystem::path& path, const Rgb8& image) {
  PngImage png;
  png.image.width = static_cast<png_uint_32>(image.width);
  png.image.height = static_cast<png_uint_32>(image.height);
  png.image.format = PNG_FORMAT_RGB;
  if (!png_image_write_to_file(&png.image, path.c_str(), 0, image.pixels.data(), image.width * 3, nullptr))
    throw Error("cannot write PNG: " + std::string(png.image.message), Where{.file = path.string()});
}

}  // namespace cir::datasets
