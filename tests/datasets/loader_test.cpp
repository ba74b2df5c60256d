#include "datasets/loader.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/error.hpp"
#include "datasets/synthetic.hpp"
#include "support.hpp"

namespace cir::datasets {
namespace {

using testing::params;

std::shared_ptr<const Dataset> synthetic() { return make_synthetic(SyntheticOptions::from(params())); }
std::shared_ptr<const model::Tokenizer> tokenizer() { return std::make_shared<testing::WordTokenizer>(); }

std::vector<TrainBatch> epoch(TrainLoader& loader, int e) {
  loader.start_epoch(e);
  std::vector<TrainBatch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

void expect_same(const TrainBatch& a, const TrainBatch& b) {
  EXPECT_EQ(a.step, b.step);
  EXPECT_EQ(a.indices, b.indices);
  EXPECT_TRUE(torch::equal(a.reference, b.reference));
  EXPECT_TRUE(torch::equal(a.target, b.target));
  EXPECT_TRUE(torch::equal(a.ids, b.ids));
  EXPECT_TRUE(torch::equal(a.mask, b.mask));
}

TEST(TrainLoader, StepsDropTheLastShortBatch) {
  TrainLoader loader(synthetic(), tokenizer(), params({{"train.batch", 10}}), 0, 1, 3);
  EXPECT_EQ(loader.steps_per_epoch(), 4);  // 48 triplets
  const auto batches = epoch(loader, 0);
  ASSERT_EQ(batches.size(), 4u);
  EXPECT_EQ(batches[0].reference.sizes(), (std::vector<std::int64_t>{10, 3, 32, 32}));
  EXPECT_EQ(batches[0].ids.dtype(), torch::kInt64);
  EXPECT_EQ(batches[0].mask.sizes(), batches[0].ids.sizes());
}

TEST(TrainLoader, BatchesAreByteIdenticalForZeroOneAndThreeWorkers) {
  std::vector<std::vector<TrainBatch>> runs;
  for (int workers : {0, 1, 3}) {
    TrainLoader loader(synthetic(), tokenizer(), params({{"data.workers", workers}}), 0, 1, 5);
    runs.push_back(epoch(loader, 2));
  }
  ASSERT_EQ(runs[0].size(), 4u);
  for (int r = 1; r < 3; ++r) {
    ASSERT_EQ(runs[r].size(), runs[0].size());
    for (std::size_t s = 0; s < runs[0].size(); ++s) expect_same(runs[0][s], runs[r][s]);
  }
}

TEST(TrainLoader, RankSlicesPutTogetherAreTheOneRankBatch) {
  TrainLoader one(synthetic(), tokenizer(), params(), 0, 1, 9);
  const auto whole = epoch(one, 1);
  for (int world : {2, 3, 4}) {
    std::vector<std::vector<TrainBatch>> ranks;
    for (int r = 0; r < world; ++r) {
      TrainLoader loader(synthetic(), tokenizer(), params({{"data.workers", r % 2}}), r, world, 9);
      EXPECT_EQ(loader.local_batch(), 12 / world);
      ranks.push_back(epoch(loader, 1));
    }
    for (std::size_t s = 0; s < whole.size(); ++s) {
      std::vector<torch::Tensor> ref, tgt, ids, mask;
      std::vector<std::int64_t> indices;
      for (int r = 0; r < world; ++r) {
        const auto& b = ranks[r][s];
        ref.push_back(b.reference);
        tgt.push_back(b.target);
        ids.push_back(b.ids);
        mask.push_back(b.mask);
        indices.insert(indices.end(), b.indices.begin(), b.indices.end());
      }
      EXPECT_EQ(indices, whole[s].indices);
      EXPECT_TRUE(torch::equal(torch::cat(ref), whole[s].reference));
      EXPECT_TRUE(torch::equal(torch::cat(tgt), whole[s].target));
      EXPECT_TRUE(torch::equal(torch::cat(ids), whole[s].ids));
      EXPECT_TRUE(torch::equal(torch::cat(mask), whole[s].mask));
    }
  }
}

TEST(TrainLoader, OrderIsAPermutationKeyedBySeedAndEpoch) {
  auto ds = synthetic();
  TrainLoader a(ds, tokenizer(), params(), 0, 1, 1), b(ds, tokenizer(), params(), 0, 1, 2);
  auto o = a.order(0);
  EXPECT_EQ(o, a.order(0));
  EXPECT_NE(o, a.order(1));
  EXPECT_NE(o, b.order(0));
  std::sort(o.begin(), o.end());
  for (std::size_t i = 0; i < o.size(); ++i) EXPECT_EQ(o[i], static_cast<std::int64_t>(i));
}

TEST(TrainLoader, ResumingMidEpochGivesTheSameRemainingBatches) {
  TrainLoader loader(synthetic(), tokenizer(), params({{"data.workers", 2}}), 0, 1, 4);
  const auto all = epoch(loader, 3);
  loader.start_epoch(3, 2);
  auto b = loader.next();
  ASSERT_TRUE(b);
  expect_same(*b, all[2]);
}

TEST(TrainLoader, RestartingAnEpochBeforeItsEndIsSafe) {
  TrainLoader loader(synthetic(), tokenizer(), params({{"data.workers", 3}}), 0, 1, 4);
  loader.start_epoch(0);
  loader.next();
  const auto fresh = epoch(loader, 0);
  TrainLoader again(synthetic(), tokenizer(), params(), 0, 1, 4);
  const auto expected = epoch(again, 0);
  ASSERT_EQ(fresh.size(), expected.size());
  for (std::size_t s = 0; s < fresh.size(); ++s) expect_same(fresh[s], expected[s]);
}

TEST(TrainLoader, CaptionsArePaddedWithThePadIdAndMasked) {
  TrainLoader loader(synthetic(), tokenizer(), params({{"model.text.max_length", 5}}), 0, 1, 0);
  loader.start_epoch(0);
  auto b = loader.next();
  ASSERT_TRUE(b);
  EXPECT_LE(b->ids.size(1), 5);
  const auto pad = b->ids.eq(1);
  EXPECT_TRUE(torch::equal(pad.logical_not().to(torch::kInt64), b->mask));
}

// An image source that counts the images being decoded and can be held.
class CountingImages : public ImageSource {
 public:
  explicit CountingImages(std::shared_ptr<const ImageSource> inner) : inner_(std::move(inner)) {}
  std::int64_t size() const override { return inner_->size(); }
  std::string name(std::int64_t i) const override { return inner_->name(i); }
  Decoded load(std::int64_t i, const std::function<double(ImageSize)>& f) const override {
    ++loads;
    return inner_->load(i, f);
  }
  mutable std::atomic<int> loads{0};

 private:
  std::shared_ptr<const ImageSource> inner_;
};

TEST(TrainLoader, PrefetchIsBounded) {
  auto base = make_synthetic(SyntheticOptions::from(params({{"data.synthetic.train_queries", 600}})));
  auto counting = std::make_shared<CountingImages>(base->image_source());
  auto ds = std::make_shared<Dataset>("counting", counting, base->training(), base->splits(), 32);
  TrainLoader loader(ds, tokenizer(), params({{"data.workers", 3}, {"data.prefetch", 2}, {"train.batch", 4}}),
                     0, 1, 0);
  loader.start_epoch(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // 150 batches available, only 2 made ahead: 2 batches × 4 rows × 2 images.
  EXPECT_LE(loader.prefetched(), 2);
  EXPECT_LE(counting->loads.load(), 2 * 4 * 2);
  for (int i = 0; i < 5; ++i) loader.next();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_LE(counting->loads.load(), 7 * 4 * 2);
}

class BrokenImages : public ImageSource {
 public:
  std::int64_t size() const override { return 1000; }
  std::string name(std::int64_t i) const override { return "/data/img" + std::to_string(i) + ".jpg"; }
  Decoded load(std::int64_t i, const std::function<double(ImageSize)>&) const override {
    const std::vector<std::uint8_t> junk{0xFF, 0xD8, 0xFF, 0x00, 0x01};
    return decode_image(junk, name(i));
  }
};

TEST(TrainLoader, ACorruptImageIsAnErrorNamingItsPathOnTheTrainingThread) {
  auto base = synthetic();
  auto ds = std::make_shared<Dataset>("broken", std::make_shared<BrokenImages>(), base->training(),
                                      base->splits(), 32);
  for (int workers : {0, 2}) {
    TrainLoader loader(ds, tokenizer(), params({{"data.workers", workers}}), 0, 1, 0);
    loader.start_epoch(0);
    try {
      loader.next();
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("/data/img"), std::string::npos) << e.what();
    }
  }
}

TEST(TrainLoader, ABatchThatDoesNotSplitOverTheRanksIsRefused) {
  try {
    TrainLoader loader(synthetic(), tokenizer(), params({{"train.batch", 10}}), 0, 4, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where().key, "train.batch");
  }
  EXPECT_THROW(TrainLoader(synthetic(), tokenizer(), params(), 0, 1), Error);  // no "seed" key
  EXPECT_NO_THROW(TrainLoader(synthetic(), tokenizer(), params({{"seed", 3}}), 0, 1));
}

TEST(EvalLoader, ShardsCoverTheSplitInOrder) {
  auto ds = synthetic();
  const auto& split = ds->splits()[0];
  std::vector<std::int64_t> gallery, queries;
  torch::Tensor first_gallery_image;
  for (int r = 0; r < 3; ++r) {
    EvalLoader loader(ds, tokenizer(), params({{"data.workers", r}}), 0, r, 3);
    while (auto g = loader.next_gallery()) {
      EXPECT_EQ(g->images.size(0), static_cast<std::int64_t>(g->positions.size()));
      EXPECT_LE(g->images.size(0), 7);
      if (!first_gallery_image.defined()) first_gallery_image = g->images[0];
      gallery.insert(gallery.end(), g->positions.begin(), g->positions.end());
    }
    while (auto q = loader.next_query()) {
      EXPECT_EQ(q->ids.size(0), q->images.size(0));
      for (std::size_t i = 0; i < q->positions.size(); ++i)
        EXPECT_TRUE(torch::equal(q->images[i], ds->eval_image(split.queries[q->positions[i]].reference)));
      queries.insert(queries.end(), q->positions.begin(), q->positions.end());
    }
  }
  ASSERT_EQ(gallery.size(), split.gallery.size());
  for (std::size_t i = 0; i < gallery.size(); ++i) EXPECT_EQ(gallery[i], static_cast<std::int64_t>(i));
  ASSERT_EQ(queries.size(), split.queries.size());
  for (std::size_t i = 0; i < queries.size(); ++i) EXPECT_EQ(queries[i], static_cast<std::int64_t>(i));
  EXPECT_TRUE(torch::equal(first_gallery_image, ds->eval_image(split.gallery[0])));
}

}  // namespace
}  // namespace cir::datasets
