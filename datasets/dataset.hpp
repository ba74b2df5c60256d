// A composed-image-retrieval dataset: training triplets, evaluation splits
// and the images behind them.
//
// Images are numbered 0 … images().size() - 1 across the whole dataset;
// triplets and queries name images by that number. An evaluation split has
// its own gallery (a list of image numbers); a query's true matches and
// its excluded image are positions in that gallery.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/params.hpp"
#include "datasets/image.hpp"
#include "datasets/listing.hpp"
#include "datasets/transforms.hpp"

namespace cir::datasets {

// Where the pixels of image number i come from.
class ImageSource {
 public:
  virtual ~ImageSource() = default;
  virtual std::int64_t size() const = 0;
  // The image's path (files) or id (synthetic), for messages.
  virtual std::string name(std::int64_t image) const = 0;
  // The full size of the image, then its pixels at a scale the decoder may
  // lower to `min_scale` (JPEG DCT scaling); `choose_scale` gets the full
  // size and returns that minimum.
  virtual Decoded load(std::int64_t image, const std::function<double(ImageSize)>& choose_scale) const = 0;
};

// Images in files under a root folder.
class FileImageSource : public ImageSource {
 public:
  FileImageSource(std::filesystem::path root, std::vector<std::string> relative_paths);
  std::int64_t size() const override { return static_cast<std::int64_t>(paths_.size()); }
  std::string name(std::int64_t image) const override;
  Decoded load(std::int64_t image, const std::function<double(ImageSize)>& choose_scale) const override;
  const std::filesystem::path& root() const { return root_; }
  const std::string& relative_path(std::int64_t image) const { return paths_.at(image); }

 private:
  std::filesystem::path root_;
  std::vector<std::string> paths_;
};

class Dataset {
 public:
  Dataset(std::string name, std::shared_ptr<const ImageSource> images, std::vector<Triplet> training,
          std::vector<EvalSplit> splits, int image_size, Mirroring mirroring = Mirroring::allowed);

  const std::string& name() const { return name_; }
  const ImageSource& images() const { return *images_; }
  std::shared_ptr<const ImageSource> image_source() const { return images_; }
  const std::vector<Triplet>& training() const { return training_; }
  const std::vector<EvalSplit>& splits() const { return splits_; }
  int image_size() const { return image_size_; }
  Mirroring mirroring() const { return mirroring_; }

  // The captions of the training triplets, in triplet order (the LSTM's
  // vocabulary is built from them).
  std::vector<std::string> training_captions() const;

  // What data.missing_images = "skip" dropped (all zero otherwise).
  const Dropped& dropped() const { return dropped_; }
  void set_dropped(const Dropped& dropped) { dropped_ = dropped; }

  // Image `image` resized to S x S and normalised: float [3, S, S]. Throws
  // cir::Error naming the file when it cannot be decoded.
  torch::Tensor eval_image(std::int64_t image) const;
  void eval_image_into(std::int64_t image, float* out) const;

  // Image `image` through the training transforms, keyed by (seed, epoch,
  // stream): the loader uses stream 2·triplet for the reference and
  // 2·triplet + 1 for the target. Mirrored only where mirroring() allows.
  torch::Tensor train_image(std::int64_t image, std::uint64_t seed, std::int64_t epoch,
                            std::int64_t stream) const;
  void train_image_into(std::int64_t image, std::uint64_t seed, std::int64_t epoch, std::int64_t stream,
                        float* out) const;

 private:
  std::string name_;
  std::shared_ptr<const ImageSource> images_;
  std::vector<Triplet> training_;
  std::vector<EvalSplit> splits_;
  int image_size_;
  Mirroring mirroring_;
  Dropped dropped_;
};

// The dataset a trial's keys name: data.dataset ("synthetic", "fashioniq",
// "shoes", "fashion200k") read from data.root in data.layout, at
// data.image_size. Throws cir::Error listing every problem of the folder
// (data.missing_images = "skip" drops what needs a missing image instead,
// counted in Dataset::dropped()).
std::shared_ptr<Dataset> open_dataset(const cir::Params& params);

// What open_dataset reads first, checked cheaply for a sweep's pre-flight
// (common/preflight.hpp): the dataset folder and its index files exist and
// can be opened (datasets/readers.hpp check_index_files; no image is
// opened). Throws cir::Error naming data.root, the folder and each missing
// file, with the `cir-data validate` command that checks it all. Nothing to
// check for synthetic data.
void check_dataset_files(const cir::Params& params);

}  // namespace cir::datasets
