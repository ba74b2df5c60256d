#include "datasets/transforms.hpp"

#include <gtest/gtest.h>

#include "datasets/synthetic.hpp"
#include "support.hpp"

namespace cir::datasets {
namespace {

using testing::params;

TEST(Transforms, CropStaysInsideTheImageWithinScaleAndRatio) {
  for (std::uint32_t s = 0; s < 200; ++s) {
    const ImageSize full{400 + static_cast<int>(s), 600};
    const auto a = draw_augmentation(full, CounterRng(7, purpose::augmentation, 0, s), Mirroring::allowed);
    EXPECT_GE(a.box.x0, 0);
    EXPECT_GE(a.box.y0, 0);
    EXPECT_LE(a.box.x1, full.width);
    EXPECT_LE(a.box.y1, full.height);
    const double area = a.box.width() * a.box.height() / (full.width * full.height);
    EXPECT_GE(area, 0.74);
    EXPECT_LE(area, 1.0);  // larger draws do not fit and are tried again
  }
}

TEST(Transforms, TrainImageIsAPureFunctionOfSeedEpochAndSample) {
  auto ds = make_synthetic(SyntheticOptions::from(params()));
  const auto a = ds->train_image(3, 11, 2, 5);
  EXPECT_TRUE(torch::equal(a, ds->train_image(3, 11, 2, 5)));
  EXPECT_FALSE(torch::equal(a, ds->train_image(3, 11, 3, 5)));
  EXPECT_FALSE(torch::equal(a, ds->train_image(3, 12, 2, 5)));
  EXPECT_FALSE(torch::equal(a, ds->train_image(3, 11, 2, 6)));
}

TEST(Transforms, ForbiddingMirroringKeepsTheCropAndTheFlipOfAllowedDrawsUnchanged) {
  int flips = 0;
  for (std::uint32_t s = 0; s < 200; ++s) {
    const CounterRng rng(7, purpose::augmentation, 3, s);
    const auto allowed = draw_augmentation({300, 200}, rng, Mirroring::allowed);
    const auto forbidden = draw_augmentation({300, 200}, rng, Mirroring::forbidden);
    EXPECT_FALSE(forbidden.flip);
    EXPECT_EQ(allowed.box.x0, forbidden.box.x0);
    EXPECT_EQ(allowed.box.y0, forbidden.box.y0);
    EXPECT_EQ(allowed.box.x1, forbidden.box.x1);
    EXPECT_EQ(allowed.box.y1, forbidden.box.y1);
    EXPECT_EQ(allowed.flip, rng.uniform_at(40) < 0.5f);  // the stream's value 40, as before
    flips += allowed.flip;
  }
  EXPECT_GT(flips, 70);
  EXPECT_LT(flips, 130);
}

TEST(Transforms, SyntheticTrainingImagesKeepTheShapeWhereTheTextSaysItIs) {
  // "put it at the top left" stays true: no flip and no crop moves a shape
  // out of its quadrant, in any epoch or sample stream.
  auto ds = make_synthetic(SyntheticOptions::from(params()));
  EXPECT_EQ(ds->mirroring(), Mirroring::forbidden);
  int drawn = 0;
  for (std::int64_t image = 0; image < ds->pool_size(); ++image)
    for (std::int64_t epoch = 0; epoch < 8; ++epoch)
      for (const std::int64_t stream : {std::int64_t{0}, std::int64_t{1}, 2 * image + 1}) {
        const auto& attributes = ds->instances()[image].attributes;
        EXPECT_TRUE(testing::shape_in_its_quadrant(ds->train_image(image, 5, epoch, stream), attributes))
            << "image " << image << " (" << attributes.describe() << "), epoch " << epoch << ", stream "
            << stream;
        ++drawn;
      }
  EXPECT_GT(drawn, 1000);
}

TEST(Transforms, FlipMirrorsAndNormalisationUsesImageNetStatistics) {
  Decoded d{Rgb8(8, 4), {8, 4}, 1.0};
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 8; ++x)
      for (int c = 0; c < 3; ++c) d.image.row(y)[3 * x + c] = static_cast<std::uint8_t>(x * 30 + c);
  std::vector<float> plain(3 * 8 * 8), flipped(3 * 8 * 8);
  const CropBox box = whole(d.full);
  resample_normalise(d, box, 8, false, plain.data());
  resample_normalise(d, box, 8, true, flipped.data());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x) {
        EXPECT_EQ(plain[c * 64 + y * 8 + x], flipped[c * 64 + y * 8 + 7 - x]);
        EXPECT_NEAR(plain[c * 64 + y * 8 + x], ((x * 30 + c) / 255.0f - kImageNetMean[c]) / kImageNetStd[c],
                    1e-5);
      }
}

TEST(Transforms, DownscalingAveragesAsPilDoes) {
  // A 1-pixel checkerboard shrunk 4× becomes flat grey: the filter widens
  // with the scale instead of sampling every 4th pixel.
  Decoded d{Rgb8(32, 32), {32, 32}, 1.0};
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x)
      for (int c = 0; c < 3; ++c) d.image.row(y)[3 * x + c] = (x + y) % 2 ? 255 : 0;
  std::vector<float> out(3 * 8 * 8);
  resample_normalise(d, whole(d.full), 8, false, out.data());
  for (int i = 0; i < 64; ++i)
    EXPECT_NEAR(out[i] * kImageNetStd[0] + kImageNetMean[0], 128 / 255.0, 2 / 255.0);
}

TEST(Transforms, NeededScaleAsksForNoUpsampling) {
  EXPECT_DOUBLE_EQ(needed_scale({0, 0, 400, 600}, 100), 0.25);
  EXPECT_DOUBLE_EQ(needed_scale({0, 0, 50, 60}, 100), 1.0);
}

}  // namespace
}  // namespace cir::datasets
