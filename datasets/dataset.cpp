#include "datasets/dataset.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/keys.hpp"
#include "common/rng.hpp"
#include "datasets/readers.hpp"
#include "datasets/synthetic.hpp"
#include "datasets/transforms.hpp"

namespace cir::datasets {

FileImageSource::FileImageSource(std::filesystem::path root, std::vector<std::string> relative_paths)
    : root_(std::move(root)), paths_(std::move(relative_paths)) {}

std::string FileImageSource::name(std::int64_t image) const { return (root_ / paths_.at(image)).string(); }

Decoded FileImageSource::load(std::int64_t image,
                              const std::function<double(ImageSize)>& choose_scale) const {
  const std::string path = name(image);
  const auto bytes = read_file(path);
  return decode_image(bytes, path, choose_scale(probe_image(bytes, path)));
}

Dataset::Dataset(std::string name, std::shared_ptr<const ImageSource> images, std::vector<Triplet> training,
                 std::vector<EvalSplit> splits, int image_size, Mirroring mirroring)
    : name_(std::move(name)),
      images_(std::move(images)),
      training_(std::move(training)),
      splits_(std::move(splits)),
      image_size_(image_size),
      mirroring_(mirroring) {
  if (image_size_ < 8)
    throw Error(fmt::format("image size {} px is too small (8 at least)", image_size_),
                Where{.key = keys::data::image_size.name});
}

std::vector<std::string> Dataset::training_captions() const {
  std::vector<std::string> captions;
  captions.reserve(training_.size());
  for (const auto& t : training_) captions.push_back(t.caption);
  return captions;
}

void Dataset::eval_image_into(std::int64_t image, float* out) const {
  const int side = image_size_;
  const Decoded d = images_->load(image, [side](ImageSize full) { return needed_scale(whole(full), side); });
  resample_normalise(d, whole(d.full), side, false, out);
}

torch::Tensor Dataset::eval_image(std::int64_t image) const {
  auto t = torch::empty({3, image_size_, image_size_}, torch::kFloat32);
  eval_image_into(image, t.data_ptr<float>());
  return t;
}

void Dataset::train_image_into(std::int64_t image, std::uint64_t seed, std::int64_t epoch,
                               std::int64_t stream, float* out) const {
  const CounterRng rng(seed, purpose::augmentation, static_cast<std::uint32_t>(epoch),
                       static_cast<std::uint32_t>(stream));
  const int side = image_size_;
  Augmentation a;
  const Decoded d = images_->load(image, [&](ImageSize full) {
    a = draw_augmentation(full, rng, mirroring_);
    return needed_scale(a.box, side);
  });
  resample_normalise(d, a.box, side, a.flip, out);
}

torch::Tensor Dataset::train_image(std::int64_t image, std::uint64_t seed, std::int64_t epoch,
                                   std::int64_t stream) const {
  auto t = torch::empty({3, image_size_, image_size_}, torch::kFloat32);
  train_image_into(image, seed, epoch, stream, t.data_ptr<float>());
  return t;
}

std::shared_ptr<Dataset> open_dataset(const cir::Params& params) {
  const std::string kind = params.get(keys::data::dataset);
  if (kind == "synthetic") return make_synthetic(SyntheticOptions::from(params));
  ReaderOptions options = ReaderOptions::from(params);
  if (kind == "fashioniq") return read_fashioniq(options);
  if (kind == "shoes") return read_shoes(options);
  return read_fashion200k(options);  // the contract's last choice
}

void check_dataset_files(const cir::Params& params) {
  const std::string kind = params.get(keys::data::dataset);
  if (kind == "synthetic") return;
  const ReaderOptions options = ReaderOptions::from(params);
  const Problems problems = check_index_files(kind, options);
  if (problems.empty()) return;
  const std::string folder = options.root.string();
  const std::string validate = validate_command(kind, options);
  if (problems.count(ProblemKind::missing_folder) == 1 && problems.all().front().file == folder)
    throw Error(fmt::format("the {} folder {} {}", kind, folder,
                            problems.all().front().what.empty() ? "does not exist" : "is not a folder"),
                params.where(keys::data::root),
                fmt::format("put the {} release there, or point data.root at the folder that holds it; "
                            "`{}` then checks it",
                            kind, validate));
  throw Error(fmt::format("the {} folder {} lacks what its reader needs: {}", kind, folder,
                          problems.summary(problems.all().size())),
              params.where(keys::data::root), fmt::format("`{}` lists every problem", validate));
}

}  // namespace cir::datasets
