#include "datasets/transforms.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace cir::datasets {
namespace {

// PIL's resampling coefficients for one axis (Imaging precompute_coeffs with
// the bilinear filter): output i reads inputs [first[i], first[i] + count[i])
// with the weights at weights[i * taps …].
struct Coefficients {
  int taps = 0;
  std::vector<int> first, count;
  std::vector<float> weights;
};

Coefficients coefficients(double in0, double in1, int in_size, int out_size) {
  const double scale = (in1 - in0) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  Coefficients c;
  c.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<std::size_t>(out_size) * c.taps, 0.0f);
  for (int i = 0; i < out_size; ++i) {
    const double center = in0 + (i + 0.5) * scale;
    int lo = static_cast<int>(center - support + 0.5);
    int hi = static_cast<int>(center + support + 0.5);
    lo = std::clamp(lo, 0, in_size - 1);
    hi = std::clamp(hi, lo + 1, in_size);
    hi = std::min(hi, lo + c.taps);
    double total = 0;
    std::vector<double> w(hi - lo);
    for (int x = lo; x < hi; ++x) {
      const double t = std::abs((x - center + 0.5) / filterscale);
      w[x - lo] = t < 1.0 ? 1.0 - t : 0.0;
      total += w[x - lo];
    }
    if (total <= 0) {  // a box thinner than one pixel: take the nearest
      std::fill(w.begin(), w.end(), 0.0);
      w[std::clamp(static_cast<int>(center) - lo, 0, hi - lo - 1)] = 1.0;
      total = 1.0;
    }
    c.first[i] = lo;
    c.count[i] = hi - lo;
    for (int k = 0; k < hi - lo; ++k)
      c.weights[static_cast<std::size_t>(i) * c.taps + k] = static_cast<float>(w[k] / total);
  }
  return c;
}

}  // namespace

Augmentation draw_augmentation(ImageSize full, const CounterRng& rng, Mirroring mirroring) {
  const double width = full.width, height = full.height, area = width * height;
  const double log_lo = std::log(3.0 / 4.0), log_hi = std::log(4.0 / 3.0);
  Augmentation a;
  bool found = false;
  for (int attempt = 0; attempt < 10 && !found; ++attempt) {
    const std::uint64_t at = 4 * static_cast<std::uint64_t>(attempt);
    const double target = area * (kCropScaleMin + (kCropScaleMax - kCropScaleMin) * rng.uniform_at(at));
    const double ratio = std::exp(log_lo + (log_hi - log_lo) * rng.uniform_at(at + 1));
    const int w = static_cast<int>(std::lround(std::sqrt(target * ratio)));
    const int h = static_cast<int>(std::lround(std::sqrt(target / ratio)));
    if (w > 0 && w <= full.width && h > 0 && h <= full.height) {
      const int i =
          std::min(static_cast<int>(rng.uniform_at(at + 2) * (full.height - h + 1)), full.height - h);
      const int j = std::min(static_cast<int>(rng.uniform_at(at + 3) * (full.width - w + 1)), full.width - w);
      a.box = {static_cast<double>(j), static_cast<double>(i), static_cast<double>(j + w),
               static_cast<double>(i + h)};
      found = true;
    }
  }
  if (!found) {
    const double in_ratio = width / height;
    int w = full.width, h = full.height;
    if (in_ratio < 3.0 / 4.0) {
      h = static_cast<int>(std::lround(w / (3.0 / 4.0)));
    } else if (in_ratio > 4.0 / 3.0) {
      w = static_cast<int>(std::lround(h * (4.0 / 3.0)));
    }
    const int i = (full.height - h) / 2, j = (full.width - w) / 2;
    a.box = {static_cast<double>(j), static_cast<double>(i), static_cast<double>(j + w),
             static_cast<double>(i + h)};
  }
  a.flip = mirroring == Mirroring::allowed && rng.uniform_at(40) < 0.5f;
  return a;
}

CropBox whole(ImageSize full) {
  return {0, 0, static_cast<double>(full.width), static_cast<double>(full.height)};
}

double needed_scale(const CropBox& box, int side) {
  return std::min(1.0, side / std::min(box.width(), box.height()));
}

void resample_normalise(const Decoded& decoded, const CropBox& box, int side, bool flip, float* out) {
  const Rgb8& img = decoded.image;
  const double sx = static_cast<double>(img.width) / decoded.full.width;
  const double sy = static_cast<double>(img.height) / decoded.full.height;
  const Coefficients cx = coefficients(box.x0 * sx, box.x1 * sx, img.width, side);
  const Coefficients cy = coefficients(box.y0 * sy, box.y1 * sy, img.height, side);
  const int row0 = cy.first.front();
  const int row1 = cy.first.back() + cy.count.back();
  // Horizontal pass over the rows the vertical pass reads: [row1 - row0][side][3].
  std::vector<float> rows(static_cast<std::size_t>(row1 - row0) * side * 3);
  for (int y = row0; y < row1; ++y) {
    const std::uint8_t* src = img.row(y);
    float* dst = rows.data() + static_cast<std::size_t>(y - row0) * side * 3;
    for (int x = 0; x < side; ++x) {
      const float* w = cx.weights.data() + static_cast<std::size_t>(x) * cx.taps;
      const std::uint8_t* p = src + static_cast<std::size_t>(cx.first[x]) * 3;
      float r = 0, g = 0, b = 0;
      for (int k = 0; k < cx.count[x]; ++k) {
        r += w[k] * p[3 * k];
        g += w[k] * p[3 * k + 1];
        b += w[k] * p[3 * k + 2];
      }
      dst[3 * x] = r;
      dst[3 * x + 1] = g;
      dst[3 * x + 2] = b;
    }
  }
  const std::size_t plane = static_cast<std::size_t>(side) * side;
  float scale[3], shift[3];
  for (int c = 0; c < 3; ++c) {
    scale[c] = 1.0f / (255.0f * kImageNetStd[c]);
    shift[c] = -kImageNetMean[c] / kImageNetStd[c];
  }
  std::vector<float> acc(static_cast<std::size_t>(side) * 3);
  for (int y = 0; y < side; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    const float* w = cy.weights.data() + static_cast<std::size_t>(y) * cy.taps;
    for (int k = 0; k < cy.count[y]; ++k) {
      const float* src = rows.data() + static_cast<std::size_t>(cy.first[y] + k - row0) * side * 3;
      const float wk = w[k];
      for (int i = 0; i < side * 3; ++i) acc[i] += wk * src[i];
    }
    for (int x = 0; x < side; ++x) {
      const int ox = flip ? side - 1 - x : x;
      for (int c = 0; c < 3; ++c) {
        // Round to 8 bits as PIL does, so eval images match torchvision's.
        const float v = std::clamp(std::nearbyint(acc[3 * x + c]), 0.0f, 255.0f);
        out[c * plane + static_cast<std::size_t>(y) * side + ox] = v * scale[c] + shift[c];
      }
    }
  }
}

}  // namespace cir::datasets
