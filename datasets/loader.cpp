#include "datasets/loader.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/checked_cast.hpp"
#include "common/error.hpp"
#include "common/keys.hpp"
#include "common/rng.hpp"

namespace cir::datasets {
namespace {

std::uint64_t seed_key(const cir::Params& params) {
  if (!params.has("seed"))
    throw Error("the data seed is missing", Where{.key = "seed", .trial = params.trial()},
                "pass the trial's seed: TrainLoader(dataset, tokenizer, params, rank, world, trial.seed)");
  return static_cast<std::uint64_t>(params.integer("seed"));
}

torch::TensorOptions batch_options(torch::ScalarType dtype, BatchMemory memory) {
  return torch::TensorOptions(dtype).pinned_memory(memory == BatchMemory::pinned);
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> tokenize(const model::Tokenizer& tokenizer,
                                                 const std::vector<std::string>& captions,
                                                 std::size_t max_length, std::size_t length,
                                                 BatchMemory memory) {
  std::vector<std::vector<std::int64_t>> encoded;
  encoded.reserve(captions.size());
  std::size_t longest = 0;
  for (const auto& c : captions) {
    encoded.push_back(tokenizer.encode(c, max_length));
    longest = std::max(longest, encoded.back().size());
  }
  if (length == 0) length = longest;
  const auto rows = static_cast<std::int64_t>(captions.size());
  const torch::TensorOptions options = batch_options(torch::kInt64, memory);
  auto ids = torch::full({rows, static_cast<std::int64_t>(length)}, tokenizer.pad_id(), options);
  auto mask = torch::zeros({rows, static_cast<std::int64_t>(length)}, options);
  auto* id = ids.data_ptr<std::int64_t>();
  auto* m = mask.data_ptr<std::int64_t>();
  for (std::size_t r = 0; r < encoded.size(); ++r) {
    const std::size_t n = std::min(encoded[r].size(), length);
    std::copy_n(encoded[r].begin(), n, id + r * length);
    std::fill_n(m + r * length, n, 1);
  }
  return {ids, mask};
}

std::pair<std::int64_t, std::int64_t> shard(std::int64_t count, int rank, int world) {
  return {count * rank / world, count * (rank + 1) / world};
}

TrainLoader::TrainLoader(std::shared_ptr<const Dataset> dataset,
                         std::shared_ptr<const model::Tokenizer> tokenizer, const cir::Params& params,
                         int rank, int world)
    : TrainLoader(std::move(dataset), std::move(tokenizer), params, rank, world, seed_key(params)) {}

TrainLoader::TrainLoader(std::shared_ptr<const Dataset> dataset,
                         std::shared_ptr<const model::Tokenizer> tokenizer, const cir::Params& params,
                         int rank, int world, std::uint64_t seed, BatchMemory memory)
    : dataset_(std::move(dataset)),
      tokenizer_(std::move(tokenizer)),
      rank_(rank),
      world_(world),
      seed_(seed),
      batch_(params.get(keys::train::batch)),
      steps_(0),
      max_length_(checked_cast<std::size_t>(params.get(keys::model::text::max_length),
                                            params.where(keys::model::text::max_length))),
      memory_(memory),
      prefetcher_(checked_cast<int>(params.get(keys::data::workers), params.where(keys::data::workers)),
                  checked_cast<int>(params.get(keys::data::prefetch), params.where(keys::data::prefetch))) {
  if (world_ < 1 || rank_ < 0 || rank_ >= world_)
    throw Error(fmt::format("rank {} of {} is not a rank of the group", rank_, world_));
  if (batch_ % world_ != 0)
    throw Error(fmt::format("the global batch {} does not split evenly over {} ranks", batch_, world_),
                params.where(keys::train::batch), "choose train.batch divisible by sweep.ranks_per_trial");
  const auto n = static_cast<std::int64_t>(dataset_->training().size());
  steps_ = n / batch_;
  if (steps_ == 0)
    throw Error(fmt::format("{} training triplets make no full batch of {}", n, batch_),
                params.where(keys::train::batch), "lower train.batch or use more data");
}

std::vector<std::int64_t> TrainLoader::order(int epoch) const {
  CounterRng rng(seed_, purpose::data_order, static_cast<std::uint32_t>(epoch));
  return rng.permutation(static_cast<std::int64_t>(dataset_->training().size()));
}

void TrainLoader::start_epoch(int epoch, std::int64_t first_step) {
  auto shared_order = std::make_shared<const std::vector<std::int64_t>>(order(epoch));
  const std::int64_t first = std::clamp<std::int64_t>(first_step, 0, steps_);
  prefetcher_.start(steps_ - first, [this, epoch, shared_order, first](std::int64_t i) {
    return make(epoch, *shared_order, first + i);
  });
}

std::optional<TrainBatch> TrainLoader::next() { return prefetcher_.next(); }

TrainBatch TrainLoader::make(int epoch, const std::vector<std::int64_t>& order, std::int64_t step) const {
  const std::int64_t local = batch_ / world_;
  const std::int64_t global0 = step * batch_;
  const int side = dataset_->image_size();
  const auto& triplets = dataset_->training();
  TrainBatch b;
  b.step = step;
  b.reference = torch::empty({local, 3, side, side}, batch_options(torch::kFloat32, memory_));
  b.target = torch::empty({local, 3, side, side}, batch_options(torch::kFloat32, memory_));
  const std::size_t plane = 3 * static_cast<std::size_t>(side) * side;
  for (std::int64_t r = 0; r < local; ++r) {
    const std::int64_t t = order[global0 + rank_ * local + r];
    b.indices.push_back(t);
    dataset_->train_image_into(triplets[t].reference, seed_, epoch, 2 * t,
                               b.reference.data_ptr<float>() + r * plane);
    dataset_->train_image_into(triplets[t].target, seed_, epoch, 2 * t + 1,
                               b.target.data_ptr<float>() + r * plane);
  }
  // Pad to the longest caption of the global batch, so slices agree across ranks.
  std::size_t longest = 0;
  for (std::int64_t g = 0; g < batch_; ++g)
    longest = std::max(longest, tokenizer_->encode(triplets[order[global0 + g]].caption, max_length_).size());
  std::vector<std::string> captions;
  for (auto t : b.indices) captions.push_back(triplets[t].caption);
  std::tie(b.ids, b.mask) = tokenize(*tokenizer_, captions, max_length_, longest, memory_);
  return b;
}

EvalLoader::EvalLoader(std::shared_ptr<const Dataset> dataset,
                       std::shared_ptr<const model::Tokenizer> tokenizer, const cir::Params& params,
                       std::size_t split, int rank, int world, BatchMemory memory)
    : dataset_(std::move(dataset)),
      tokenizer_(std::move(tokenizer)),
      split_(split),
      batch_(params.get(keys::eval::batch)),
      max_length_(checked_cast<std::size_t>(params.get(keys::model::text::max_length),
                                            params.where(keys::model::text::max_length))),
      memory_(memory),
      prefetcher_(checked_cast<int>(params.get(keys::data::workers), params.where(keys::data::workers)),
                  checked_cast<int>(params.get(keys::data::prefetch), params.where(keys::data::prefetch))) {
  if (split_ >= dataset_->splits().size())
    throw Error(fmt::format("dataset {} has no evaluation split {}", dataset_->name(), split_));
  if (world < 1 || rank < 0 || rank >= world)
    throw Error(fmt::format("rank {} of {} is not a rank of the group", rank, world));
  const auto& s = this->split();
  gallery_ = shard(static_cast<std::int64_t>(s.gallery.size()), rank, world);
  queries_ = shard(static_cast<std::int64_t>(s.queries.size()), rank, world);
  gallery_batches_ = (gallery_.second - gallery_.first + batch_ - 1) / batch_;
  query_batches_ = (queries_.second - queries_.first + batch_ - 1) / batch_;
  prefetcher_.start(gallery_batches_ + query_batches_, [this](std::int64_t i) { return make(i); });
}

EvalLoader::Item EvalLoader::make(std::int64_t item) const {
  const int side = dataset_->image_size();
  const std::size_t plane = 3 * static_cast<std::size_t>(side) * side;
  const auto& s = split();
  const bool gallery = item < gallery_batches_;
  const auto share = gallery ? gallery_ : queries_;
  const std::int64_t first = share.first + (gallery ? item : item - gallery_batches_) * batch_;
  const std::int64_t last = std::min(first + batch_, share.second);
  auto images = torch::empty({last - first, 3, side, side}, batch_options(torch::kFloat32, memory_));
  std::vector<std::int64_t> positions;
  for (std::int64_t p = first; p < last; ++p) {
    const std::int64_t image = gallery ? s.gallery[p] : s.queries[p].reference;
    dataset_->eval_image_into(image, images.data_ptr<float>() + (p - first) * plane);
    positions.push_back(p);
  }
  if (gallery) return GalleryBatch{images, std::move(positions)};
  std::vector<std::string> captions;
  for (auto p : positions) captions.push_back(s.queries[p].caption);
  auto [ids, mask] = tokenize(*tokenizer_, captions, max_length_, 0, memory_);
  return QueryBatch{images, ids, mask, std::move(positions)};
}

std::optional<GalleryBatch> EvalLoader::next_gallery() {
  if (taken_ >= gallery_batches_) return std::nullopt;
  ++taken_;
  return std::get<GalleryBatch>(*prefetcher_.next());
}

std::optional<QueryBatch> EvalLoader::next_query() {
  while (next_gallery()) {
  }
  if (taken_ >= gallery_batches_ + query_batches_) return std::nullopt;
  ++taken_;
  return std::get<QueryBatch>(*prefetcher_.next());
}

}  // namespace cir::datasets
