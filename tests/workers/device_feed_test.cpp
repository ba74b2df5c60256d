#include "workers/device_feed.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "common/rng.hpp"
#include "datasets/synthetic.hpp"
#include "model/composed.hpp"
#include "model/losses.hpp"
#include "model/text/lstm_encoder.hpp"
#include "tests/datasets/support.hpp"
#include "workers/keyed_random.hpp"

namespace cir::workers {
namespace {

using datasets::TrainBatch;

std::shared_ptr<const datasets::Dataset> synthetic() {
  return datasets::make_synthetic(datasets::SyntheticOptions::from(datasets::testing::params()));
}
std::shared_ptr<const model::Tokenizer> tokenizer() {
  return std::make_shared<datasets::testing::WordTokenizer>();
}

std::vector<torch::Tensor*> batch_tensors(TrainBatch& b) {
  return {&b.reference, &b.target, &b.ids, &b.mask};
}

// Batches 0 … count-1 whose tensors hold their number; the source throws
// at `failing` (-1: never) and counts how often it was asked.
struct NumberedSource {
  std::int64_t count, failing = -1, asked = 0;
  std::optional<TrainBatch> operator()() {
    const std::int64_t step = asked++;
    if (step == failing) throw std::runtime_error("batch " + std::to_string(step) + " is unreadable");
    if (step >= count) return std::nullopt;
    TrainBatch b;
    b.step = step;
    b.reference = torch::full({2, 3, 4, 4}, static_cast<float>(step));
    b.target = b.reference + 0.5;
    b.ids = torch::full({2, 5}, step, torch::kLong);
    b.mask = torch::ones({2, 5}, torch::kLong);
    return b;
  }
};

TEST(DeviceFeed, OnTheCpuHandsOutTheLoadersBatchesInOrderAndUnchanged) {
  const auto params = datasets::testing::params({{"data.workers", 2}});
  datasets::TrainLoader direct(synthetic(), tokenizer(), params, 0, 1, 5);
  datasets::TrainLoader fed(synthetic(), tokenizer(), params, 0, 1, 5);
  direct.start_epoch(1);
  fed.start_epoch(1);
  std::vector<const void*> storage;  // the loader's own tensors, not copies
  DeviceFeed<TrainBatch> feed(
      torch::kCPU,
      [&]() -> std::optional<TrainBatch> {
        auto b = fed.next();
        if (b) storage.push_back(b->reference.data_ptr());
        return b;
      },
      batch_tensors);
  std::int64_t steps = 0;
  while (auto expected = direct.next()) {
    const std::optional<TrainBatch> b = feed.next();
    ASSERT_TRUE(b.has_value()) << "step " << steps;
    EXPECT_EQ(b->step, expected->step);
    EXPECT_EQ(b->indices, expected->indices);
    EXPECT_TRUE(torch::equal(b->reference, expected->reference));
    EXPECT_TRUE(torch::equal(b->target, expected->target));
    EXPECT_TRUE(torch::equal(b->ids, expected->ids));
    EXPECT_TRUE(torch::equal(b->mask, expected->mask));
    EXPECT_EQ(b->reference.data_ptr(), storage.at(static_cast<std::size_t>(steps)));
    EXPECT_FALSE(b->reference.is_pinned());
    ++steps;
  }
  EXPECT_EQ(steps, direct.steps_per_epoch());
  EXPECT_FALSE(feed.next().has_value());
}

TEST(DeviceFeed, AsksTheSourceOneBatchAheadAndNotPastItsEnd) {
  NumberedSource source{.count = 3};
  DeviceFeed<TrainBatch> feed(torch::kCPU, std::ref(source), batch_tensors);
  for (std::int64_t step = 0; step < 3; ++step) {
    const auto b = feed.next();
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->step, step);
    EXPECT_EQ(b->ids[1][4].item<std::int64_t>(), step);
    // Batch step + 1 was asked for before batch step was handed out.
    EXPECT_EQ(source.asked, step + 2);
  }
  EXPECT_FALSE(feed.next().has_value());
  EXPECT_FALSE(feed.next().has_value());
  EXPECT_EQ(source.asked, 4) << "the end is asked for once";
}

TEST(DeviceFeed, AnErrorArrivesWithItsBatchAfterTheBatchesBeforeIt) {
  NumberedSource source{.count = 5, .failing = 2};
  DeviceFeed<TrainBatch> feed(torch::kCPU, std::ref(source), batch_tensors);
  EXPECT_EQ(feed.next()->step, 0);
  EXPECT_EQ(feed.next()->step, 1);
  try {
    feed.next();
    FAIL() << "batch 2 is unreadable";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "batch 2 is unreadable");
  }
  EXPECT_FALSE(feed.next().has_value());
  EXPECT_EQ(source.asked, 3) << "nothing is asked for after an error";
}

// One epoch of a small model (ResNet-18 at width 8, an LSTM, the loss of
// the trainer) on `device`, its batches through a DeviceFeed or copied
// with a plain blocking to(); the loss of every step.
std::vector<double> one_epoch_losses(torch::Device device, bool through_feed) {
  torch::manual_seed(0);
  model::ModelOptions options;
  options.image = model::ResNetOptions{.arch = "resnet18", .width = 8, .layer4_stride1 = true};
  options.feature_dim = 32;
  options.heads = 2;
  model::ComposedModel net(options, std::make_shared<model::LstmEncoderImpl>(model::LstmOptions{
                                        .vocab_size = 1000, .embed = 32, .hidden = 32, .pad_id = 1}));
  net->to(device);
  net->train();
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  datasets::TrainLoader loader(synthetic(), tokenizer(), datasets::testing::params({{"data.workers", 2}}), 0,
                               1, 7, host_memory_for(device));
  loader.start_epoch(0);
  std::optional<DeviceFeed<TrainBatch>> feed;
  if (through_feed)
    feed.emplace(
        device, [&] { return loader.next(); }, batch_tensors);
  std::vector<double> losses;
  while (true) {
    std::optional<TrainBatch> batch = through_feed ? feed->next() : loader.next();
    if (!batch) break;
    if (!through_feed)
      for (torch::Tensor* t : batch_tensors(*batch)) *t = t->to(device);
    const auto step = static_cast<std::uint32_t>(batch->step);
    sgd.zero_grad();
    const torch::Tensor composed = net->compose(batch->reference, batch->ids, batch->mask);
    const torch::Tensor target = net->image_features(batch->target);
    const model::LossTerms terms = model::total_loss(composed, target, model::LossOptions{}, 0, 2,
                                                     keyed_generator(7, purpose::augmenter_noise, 0, step));
    terms.total.backward();
    sgd.step();
    losses.push_back(terms.total.item<double>());
  }
  return losses;
}

TEST(DeviceFeed, OneEpochThroughTheFeedHasTheLossesOfDirectBatchesOnTheCpu) {
  const std::vector<double> direct = one_epoch_losses(torch::kCPU, false);
  ASSERT_EQ(direct.size(), 4u);  // 48 triplets at batch 12
  EXPECT_EQ(one_epoch_losses(torch::kCPU, true), direct);
}

// On a GPU: the loader's batches for it are pinned, and the feed hands
// them out on the GPU in order and unchanged.
TEST(DeviceFeedCuda, BatchesArrivePinnedAndThenOnTheGpuInOrderAndUnchanged) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device gpu(torch::kCUDA, 0);
  const auto params = datasets::testing::params({{"data.workers", 2}});
  datasets::TrainLoader direct(synthetic(), tokenizer(), params, 0, 1, 5);
  datasets::TrainLoader pinned(synthetic(), tokenizer(), params, 0, 1, 5, host_memory_for(gpu));
  direct.start_epoch(1);
  pinned.start_epoch(1);
  DeviceFeed<TrainBatch> feed(
      gpu,
      [&] {
        auto b = pinned.next();
        if (b) {
          for (torch::Tensor* t : batch_tensors(*b)) {
            EXPECT_TRUE(t->is_pinned());
          }
        }
        return b;
      },
      batch_tensors);
  std::int64_t steps = 0;
  while (auto expected = direct.next()) {
    std::optional<TrainBatch> b = feed.next();
    ASSERT_TRUE(b.has_value()) << "step " << steps;
    EXPECT_EQ(b->step, expected->step);
    const std::vector<torch::Tensor*> got = batch_tensors(*b), want = batch_tensors(*expected);
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i]->device(), gpu);
      EXPECT_TRUE(torch::equal(got[i]->cpu(), *want[i])) << "step " << steps << " tensor " << i;
    }
    ++steps;
  }
  EXPECT_EQ(steps, direct.steps_per_epoch());
  EXPECT_FALSE(feed.next().has_value());
}

// On a GPU: pinned batches, copied on the side stream while the previous
// step computes, give the losses of blocking copies. Not bit for bit: the
// backward passes' atomic additions may sum in another order from run to
// run, well below the tolerance; a batch read before its copies finished
// would be far off.
TEST(DeviceFeedCuda, OneEpochThroughTheFeedHasTheLossesOfBlockingCopies) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device gpu(torch::kCUDA, 0);
  const std::vector<double> blocking = one_epoch_losses(gpu, false);
  const std::vector<double> fed = one_epoch_losses(gpu, true);
  ASSERT_EQ(blocking.size(), 4u);
  ASSERT_EQ(fed.size(), blocking.size());
  for (std::size_t s = 0; s < fed.size(); ++s) EXPECT_NEAR(fed[s], blocking[s], 1e-5 * std::abs(blocking[s]));
}

}  // namespace
}  // namespace cir::workers
