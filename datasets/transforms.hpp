// The image transforms of docs/paper-notes.md "Image transforms":
//   train: RandomResizedCrop(S, scale 0.75–1.33 as the reference writes it,
//          ratio 3/4–4/3) + horizontal flip (p = 0.5) where the dataset
//          allows mirroring;
//   eval:  resize to S x S;
// both normalised with the ImageNet mean and std, giving float [3, S, S].
// Every random choice of a sample comes from one counter-based stream
// (common/rng.hpp), so it is a pure function of (seed, epoch, sample).
#pragma once

#include <cstdint>

#include "common/rng.hpp"
#include "datasets/image.hpp"

namespace cir::datasets {

// A rectangle of an image in pixels of the full-size image: [x0, x1) x [y0, y1).
struct CropBox {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  double width() const { return x1 - x0; }
  double height() const { return y1 - y0; }
};

// Whether the training transform may mirror a dataset's images. The real
// datasets' texts hold for a mirrored product photo, so they keep the
// reference's horizontal flip; the synthetic texts name left and right, and
// a mirrored image would contradict them.
enum class Mirroring { allowed, forbidden };

struct Augmentation {
  CropBox box;
  bool flip = false;
};

inline constexpr double kCropScaleMin = 0.75, kCropScaleMax = 1.33;
inline constexpr float kImageNetMean[3] = {0.485f, 0.456f, 0.406f};
inline constexpr float kImageNetStd[3] = {0.229f, 0.224f, 0.225f};

// torchvision's RandomResizedCrop.get_params (ten tries at an area fraction
// in [0.75, 1.33] and a log-uniform aspect ratio in [3/4, 4/3], then the
// central fallback) and a coin for the flip, drawn from `rng`: values 4k …
// 4k+3 of the stream serve try k, value 40 the flip. With
// Mirroring::forbidden the flip is always off and the crop is the same.
Augmentation draw_augmentation(ImageSize full, const CounterRng& rng, Mirroring mirroring);

// The whole image.
CropBox whole(ImageSize full);

// The decode scale a box needs so that resampling it to side x side never
// upsamples (1 when the image is already small).
double needed_scale(const CropBox& box, int side);

// Resamples `box` (in full-size pixels; `decoded` holds the image at
// `decoded.scale`) to side x side with PIL's antialiased bilinear filter,
// mirrors it when `flip`, and writes ImageNet-normalised floats to
// out[c * side * side + y * side + x].
void resample_normalise(const Decoded& decoded, const CropBox& box, int side, bool flip, float* out);

}  // namespace cir::datasets
