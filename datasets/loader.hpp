// Batches for training and evaluation (docs/determinism.md "Keyed random streams").
//
// TrainLoader: the global order of an epoch is a permutation of the training
// triplets keyed by (data seed, epoch); global batch s is positions
// [s·B, (s+1)·B) of it (B = train.batch; the last short batch is dropped);
// rank r of a group of W gets rows [r·B/W, (r+1)·B/W) of it. Each image's
// augmentation is keyed by (seed, epoch, triplet). Captions go through the
// model's tokenizer (cut at model.text.max_length) and are padded to the
// longest caption of the GLOBAL batch, so the ranks' slices put together are
// byte for byte the batch a single rank gets. data.workers threads decode
// at most data.prefetch batches ahead: memory does not grow with the
// dataset, and batches are the same whatever the number of threads.
//
// EvalLoader: rank r's contiguous share of one split's gallery and queries
// (shares differ in size by at most one), in order, eval.batch at a time.
//
// Both make their batches' tensors in pinned (page-locked) host memory when
// asked (BatchMemory::pinned, the trainer's choice for a CUDA device:
// workers/device_feed.hpp), so that copies to the GPU can run asynchronously;
// pinned blocks come from LibTorch's caching host allocator, which hands a
// freed batch's memory to a later batch instead of allocating again.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/params.hpp"
#include "datasets/dataset.hpp"
#include "datasets/prefetcher.hpp"
#include "model/tokenizer.hpp"

namespace cir::datasets {

// Where batches live: ordinary host memory, or pinned host memory (needs a
// LibTorch with CUDA and a GPU).
enum class BatchMemory { pageable, pinned };

struct TrainBatch {
  torch::Tensor reference, target;    // float [b, 3, S, S]
  torch::Tensor ids, mask;            // int64 [b, L]; mask 1 for a token, 0 for padding
  std::vector<std::int64_t> indices;  // the training triplets of the rows
  std::int64_t step = 0;              // batch number within the epoch
};

// Padded token ids of `captions`, `length` columns wide (0 = the longest).
std::pair<torch::Tensor, torch::Tensor> tokenize(const model::Tokenizer& tokenizer,
                                                 const std::vector<std::string>& captions,
                                                 std::size_t max_length, std::size_t length = 0,
                                                 BatchMemory memory = BatchMemory::pageable);

// [begin, end) of the share of `count` items that rank `rank` of `world` gets.
std::pair<std::int64_t, std::int64_t> shard(std::int64_t count, int rank, int world);

class TrainLoader {
 public:
  // `seed` is the data seed: the trial's seed.
  TrainLoader(std::shared_ptr<const Dataset> dataset, std::shared_ptr<const model::Tokenizer> tokenizer,
              const cir::Params& params, int rank, int world, std::uint64_t seed,
              BatchMemory memory = BatchMemory::pageable);
  // The same, with the seed from the key "seed" of `params` (an error naming
  // the key when it is absent).
  TrainLoader(std::shared_ptr<const Dataset> dataset, std::shared_ptr<const model::Tokenizer> tokenizer,
              const cir::Params& params, int rank, int world);

  std::int64_t steps_per_epoch() const { return steps_; }
  std::int64_t global_batch() const { return batch_; }
  std::int64_t local_batch() const { return batch_ / world_; }
  // Starts (or restarts) epoch `epoch` at step `first_step` (resume mid-epoch).
  void start_epoch(int epoch, std::int64_t first_step = 0);
  // This rank's slice of the next global batch, nothing at the end of the epoch.
  std::optional<TrainBatch> next();
  // Batches decoded or being decoded ahead of the consumer (≤ data.prefetch).
  std::int64_t prefetched() const { return prefetcher_.pending(); }

  // The global order of epoch `epoch` (triplet numbers).
  std::vector<std::int64_t> order(int epoch) const;

 private:
  TrainBatch make(int epoch, const std::vector<std::int64_t>& order, std::int64_t step) const;

  std::shared_ptr<const Dataset> dataset_;
  std::shared_ptr<const model::Tokenizer> tokenizer_;
  int rank_, world_;
  std::uint64_t seed_;
  std::int64_t batch_, steps_;
  std::size_t max_length_;
  BatchMemory memory_;
  Prefetcher<TrainBatch> prefetcher_;
};

struct GalleryBatch {
  torch::Tensor images;                 // float [n, 3, S, S]
  std::vector<std::int64_t> positions;  // gallery positions of the rows
};

struct QueryBatch {
  torch::Tensor images;                 // reference images, float [n, 3, S, S]
  torch::Tensor ids, mask;              // int64 [n, L]
  std::vector<std::int64_t> positions;  // query positions of the rows
};

class EvalLoader {
 public:
  EvalLoader(std::shared_ptr<const Dataset> dataset, std::shared_ptr<const model::Tokenizer> tokenizer,
             const cir::Params& params, std::size_t split, int rank, int world,
             BatchMemory memory = BatchMemory::pageable);

  const EvalSplit& split() const { return dataset_->splits().at(split_); }
  // This rank's positions: gallery [first, second), queries [first, second).
  std::pair<std::int64_t, std::int64_t> gallery_share() const { return gallery_; }
  std::pair<std::int64_t, std::int64_t> query_share() const { return queries_; }

  // This rank's gallery images in order, then nothing; then its queries.
  std::optional<GalleryBatch> next_gallery();
  std::optional<QueryBatch> next_query();

 private:
  using Item = std::variant<GalleryBatch, QueryBatch>;
  Item make(std::int64_t item) const;

  std::shared_ptr<const Dataset> dataset_;
  std::shared_ptr<const model::Tokenizer> tokenizer_;
  std::size_t split_;
  std::int64_t batch_;
  std::size_t max_length_;
  BatchMemory memory_;
  std::pair<std::int64_t, std::int64_t> gallery_, queries_;
  std::int64_t gallery_batches_, query_batches_, taken_ = 0;
  Prefetcher<Item> prefetcher_;
};

}  // namespace cir::datasets
