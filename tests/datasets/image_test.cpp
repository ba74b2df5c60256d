#include "datasets/image.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <fstream>

#include "common/error.hpp"
#include "datasets/transforms.hpp"
#include "support.hpp"

namespace cir::datasets {
namespace {

namespace fs = std::filesystem;

// PIL (Debian's /usr/bin/python3) writes a 600x400 picture as JPEG and PNG,
// and dumps its own decodes: full size, its DCT-scaled draft at 1/4, and the
// full image resized to 48x48 with bilinear filtering.
class AgainstPil : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::ScratchDir("pil");
    const std::string script = R"(
import sys, numpy as np
from PIL import Image
d = sys.argv[1]
y, x = np.mgrid[0:600, 0:400]
rng = np.random.default_rng(3)
a = np.stack([(x * 255 // 399), (y * 255 // 599), ((x + y) % 256)], -1).astype(np.int16)
a = np.clip(a + rng.integers(-40, 40, a.shape), 0, 255).astype(np.uint8)
Image.fromarray(a).save(d + "/pic.jpg", quality=90)
Image.fromarray(a).save(d + "/pic.png")
for name in ("jpg", "png"):
    im = Image.open(d + "/pic." + name).convert("RGB")
    open(d + "/pil_" + name + ".rgb", "wb").write(im.tobytes())
    im.resize((48, 48), Image.BILINEAR).save(d + "/pil_" + name + "_48.png")
im = Image.open(d + "/pic.jpg"); im.draft("RGB", (100, 150)); im = im.convert("RGB")
open(d + "/pil_draft.txt", "w").write("%d %d" % im.size)
open(d + "/pil_draft.rgb", "wb").write(im.tobytes())
)";
    std::ofstream(dir_->path() / "make.py") << script;
    const std::string cmd =
        "/usr/bin/python3 " + (dir_->path() / "make.py").string() + " " + dir_->path().string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path path(const std::string& name) { return dir_->path() / name; }

  static void expect_close(const Rgb8& ours, const std::vector<std::uint8_t>& pil, int tolerance) {
    ASSERT_EQ(ours.pixels.size(), pil.size());
    int worst = 0;
    for (std::size_t i = 0; i < pil.size(); ++i) worst = std::max(worst, std::abs(ours.pixels[i] - pil[i]));
    EXPECT_LE(worst, tolerance);
  }
  static testing::ScratchDir* dir_;
};
testing::ScratchDir* AgainstPil::dir_ = nullptr;

TEST_F(AgainstPil, JpegDecodesLikePil) {
  const auto d = decode_file(path("pic.jpg"));
  EXPECT_EQ(d.image.width, 400);
  EXPECT_EQ(d.image.height, 600);
  expect_close(d.image, read_file(path("pil_jpg.rgb")), 1);
}

TEST_F(AgainstPil, PngDecodesExactlyLikePil) {
  const auto d = decode_file(path("pic.png"));
  expect_close(d.image, read_file(path("pil_png.rgb")), 0);
}

TEST_F(AgainstPil, DctScaledJpegMatchesPilsDraft) {
  const auto d = decode_file(path("pic.jpg"), 0.25);
  EXPECT_EQ(d.image.width, 100);
  EXPECT_EQ(d.image.height, 150);
  EXPECT_DOUBLE_EQ(d.scale, 0.25);
  EXPECT_EQ(d.full.width, 400);
  std::ifstream size(path("pil_draft.txt"));
  int w = 0, h = 0;
  size >> w >> h;
  EXPECT_EQ(w, 100);
  EXPECT_EQ(h, 150);
  expect_close(d.image, read_file(path("pil_draft.rgb")), 1);
}

TEST_F(AgainstPil, EvalResizeMatchesPilBilinear) {
  for (const std::string name : {"jpg", "png"}) {
    const auto d = decode_file(path("pic." + name));
    std::vector<float> ours(3 * 48 * 48);
    resample_normalise(d, whole(d.full), 48, false, ours.data());
    const auto pil = decode_file(path("pil_" + name + "_48.png")).image;
    int worst = 0;
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 48 * 48; ++i) {
        const float v = (ours[c * 48 * 48 + i] * kImageNetStd[c] + kImageNetMean[c]) * 255.0f;
        worst = std::max(worst, static_cast<int>(std::lround(std::abs(v - pil.pixels[3 * i + c]))));
      }
    EXPECT_LE(worst, 1) << name;
  }
}

TEST_F(AgainstPil, TruncatedAndCorruptFilesAreErrorsNamingThem) {
  for (const std::string name : {"pic.jpg", "pic.png"}) {
    auto bytes = read_file(path(name));
    bytes.resize(bytes.size() / 2);
    const auto cut = path("cut_" + name);
    std::ofstream(cut, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    try {
      decode_file(cut);
      FAIL() << name << " decoded although truncated";
    } catch (const Error& e) {
      EXPECT_EQ(e.where().file, cut.string());
      EXPECT_NE(e.message().find("truncated"), std::string::npos) << e.what();
    }
  }
  std::ofstream(path("text.jpg")) << "not an image";
  EXPECT_THROW(decode_file(path("text.jpg")), Error);
  EXPECT_THROW(decode_file(path("absent.jpg")), Error);
}

TEST(Image, WritersRoundTrip) {
  testing::ScratchDir dir("roundtrip");
  Rgb8 img(20, 10);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>(i * 7);
  write_png(dir.path() / "a.png", img);
  EXPECT_EQ(decode_file(dir.path() / "a.png").image.pixels, img.pixels);
  write_jpeg(dir.path() / "a.jpg", img);
  const auto j = decode_file(dir.path() / "a.jpg");
  EXPECT_EQ(j.image.width, 20);
  EXPECT_EQ(sniff_format(read_file(dir.path() / "a.jpg")), ImageFormat::jpeg);
}

// A header may claim up to 65500 x 65500 (JPEG) or 2^31 x 2^31 (PNG)
// pixels; decoding allocated 3 bytes a pixel before reading any (12 GB for
// the first), and the PNG row stride overflowed an int.
TEST(Image, HeadersClaimingTooManyPixelsAreRefusedBeforeAnyIsDecoded) {
  testing::ScratchDir dir("huge");
  const Rgb8 img(16, 8);
  write_jpeg(dir.path() / "a.jpg", img);
  write_png(dir.path() / "a.png", img);
  auto put16 = [](std::vector<std::uint8_t>& b, std::size_t at, unsigned v) {
    b[at] = static_cast<std::uint8_t>(v >> 8);
    b[at + 1] = static_cast<std::uint8_t>(v);
  };
  auto jpeg = read_file(dir.path() / "a.jpg");
  std::size_t sof = 2;
  while (!(jpeg[sof] == 0xFF && jpeg[sof + 1] == 0xC0)) sof += 2 + ((jpeg[sof + 2] << 8) | jpeg[sof + 3]);
  put16(jpeg, sof + 5, 65500);  // height
  put16(jpeg, sof + 7, 65500);  // width
  auto png = read_file(dir.path() / "a.png");
  for (std::size_t at : {16u, 20u}) {  // IHDR width, height: 100000 each
    put16(png, at, 100000 >> 16);
    put16(png, at + 2, 100000 & 0xFFFF);
  }
  const auto sum = crc32(crc32(0, nullptr, 0), png.data() + 12, 17);  // "IHDR" and its 13 bytes
  put16(png, 29, sum >> 16);
  put16(png, 31, sum & 0xFFFF);
  for (const auto& [bytes, claim] : {std::pair{jpeg, "65500 × 65500"}, std::pair{png, "100000 × 100000"}}) {
    const std::string expected =
        std::string("the header claims ") + claim + " pixels; cir reads images of 1 to 50000000 pixels";
    for (bool probe : {true, false}) {
      try {
        if (probe) {
          probe_image(bytes, "huge");
        } else {
          decode_image(bytes, "huge", 1.0);
        }
        FAIL() << claim << " pixels accepted";
      } catch (const Error& e) {
        EXPECT_EQ(e.message(), expected);
        EXPECT_EQ(e.where().file, "huge");
        EXPECT_EQ(e.code(), ExitCode::usage);
      }
    }
  }
}

}  // namespace
}  // namespace cir::datasets
