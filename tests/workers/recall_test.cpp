#include "workers/recall.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "common/error.hpp"
#include "workers/precision.hpp"

namespace cir::workers {
namespace {

// The protocol of recall.hpp spelled out the slow way: sort every
// non-excluded gallery item by (score descending, index ascending) and find
// the first true match.
std::vector<std::int64_t> brute_force_ranks(const torch::Tensor& queries, const torch::Tensor& gallery,
                                            const std::vector<QueryTruth>& truth) {
  const torch::Tensor scores = queries.matmul(gallery.t()).contiguous();
  std::vector<std::int64_t> ranks;
  for (std::int64_t q = 0; q < queries.size(0); ++q) {
    const auto& t = truth[static_cast<std::size_t>(q)];
    std::vector<std::int64_t> order;
    for (std::int64_t g = 0; g < gallery.size(0); ++g)
      if (g != t.exclude) order.push_back(g);
    const float* s = scores[q].data_ptr<float>();
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return s[a] > s[b]; });
    std::int64_t rank = gallery.size(0);
    for (std::size_t i = 0; i < order.size(); ++i)
      if (std::find(t.matches.begin(), t.matches.end(), order[i]) != t.matches.end()) {
        rank = static_cast<std::int64_t>(i);
        break;
      }
    ranks.push_back(rank);
  }
  return ranks;
}

// The k best non-excluded items of each query the slow way: a stable sort
// by score (so equal scores keep the lower index first), cut at k.
std::vector<std::vector<std::int64_t>> brute_force_topk(const torch::Tensor& queries,
                                                        const torch::Tensor& gallery, std::int64_t k,
                                                        const std::vector<std::int64_t>& exclude) {
  const torch::Tensor scores = queries.matmul(gallery.t()).contiguous();
  std::vector<std::vector<std::int64_t>> out;
  for (std::int64_t q = 0; q < queries.size(0); ++q) {
    std::vector<std::int64_t> order;
    for (std::int64_t g = 0; g < gallery.size(0); ++g)
      if (g != exclude[static_cast<std::size_t>(q)]) order.push_back(g);
    const float* s = scores[q].data_ptr<float>();
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return s[a] > s[b]; });
    order.resize(static_cast<std::size_t>(k));
    out.push_back(order);
  }
  return out;
}

std::vector<std::vector<std::int64_t>> rows_of(const torch::Tensor& indices) {
  std::vector<std::vector<std::int64_t>> out;
  for (std::int64_t q = 0; q < indices.size(0); ++q) {
    const torch::Tensor row = indices[q].contiguous();
    out.emplace_back(row.data_ptr<std::int64_t>(), row.data_ptr<std::int64_t>() + row.numel());
  }
  return out;
}

// Features from a handful of integer levels, so that many scores tie exactly.
torch::Tensor tied_features(std::int64_t rows, std::int64_t dims, std::uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randint(-2, 3, {rows, dims}).to(torch::kFloat);
}

std::vector<QueryTruth> random_truth(std::int64_t queries, std::int64_t gallery, std::uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<QueryTruth> truth(static_cast<std::size_t>(queries));
  for (auto& t : truth) {
    const std::int64_t matches = torch::randint(1, 4, {1}).item<std::int64_t>();
    for (std::int64_t i = 0; i < matches; ++i)
      t.matches.push_back(torch::randint(gallery, {1}).item<std::int64_t>());
    // Half the queries exclude an item, sometimes one of their own matches.
    const std::int64_t coin = torch::randint(4, {1}).item<std::int64_t>();
    if (coin == 1) t.exclude = torch::randint(gallery, {1}).item<std::int64_t>();
    if (coin == 2) t.exclude = t.matches.front();
  }
  return truth;
}

TEST(Recall, EqualsBruteForceWithTiesExclusionsAndSeveralMatchesAtEveryBlockSize) {
  const std::int64_t n_queries = 37, n_gallery = 53;
  const torch::Tensor queries = tied_features(n_queries, 3, 1), gallery = tied_features(n_gallery, 3, 2);
  const std::vector<QueryTruth> truth = random_truth(n_queries, n_gallery, 3);
  const std::vector<std::int64_t> expected = brute_force_ranks(queries, gallery, truth);
  // Ties must actually occur for this test to mean something.
  const torch::Tensor scores = queries.matmul(gallery.t());
  ASSERT_LT(std::get<0>(torch::_unique(scores.flatten())).numel(), scores.numel() / 10);
  for (std::size_t block_bytes : {std::size_t{1}, n_gallery * 4 * std::size_t{5}, std::size_t{1} << 20})
    EXPECT_EQ(match_ranks(queries, gallery, truth, block_bytes), expected) << "block_bytes " << block_bytes;
}

TEST(Recall, RandomFeaturesMatchBruteForceAndTopK) {
  torch::manual_seed(7);
  const torch::Tensor queries = torch::nn::functional::normalize(torch::randn({200, 16}));
  const torch::Tensor gallery = torch::nn::functional::normalize(torch::randn({300, 16}));
  std::vector<QueryTruth> truth = random_truth(200, 300, 8);
  const std::vector<std::int64_t> ranks = match_ranks(queries, gallery, truth, 300 * 4 * 7);
  EXPECT_EQ(ranks, brute_force_ranks(queries, gallery, truth));

  // A hit at K means a true match is among the top K of search_topk.
  std::vector<std::int64_t> exclude;
  for (const auto& t : truth) exclude.push_back(t.exclude);
  const TopK top = search_topk(queries, gallery, 10, exclude, 300 * 4 * 3);
  for (std::size_t q = 0; q < truth.size(); ++q) {
    bool found = false;
    for (std::int64_t i = 0; i < 10; ++i) {
      const std::int64_t g = top.indices[static_cast<std::int64_t>(q)][i].item<std::int64_t>();
      EXPECT_NE(g, truth[q].exclude);
      found |= g != truth[q].exclude &&
               std::find(truth[q].matches.begin(), truth[q].matches.end(), g) != truth[q].matches.end();
    }
    EXPECT_EQ(found, ranks[q] < 10) << "query " << q;
  }
  EXPECT_TRUE(torch::equal(top.scores, std::get<0>(top.scores.sort(1, /*descending=*/true))));
}

TEST(Recall, TopKEqualsBruteForceWithTiesAndExclusionsAtEveryTileSize) {
  const std::int64_t n_queries = 41, n_gallery = 97, k = 12;
  const torch::Tensor queries = tied_features(n_queries, 3, 4), gallery = tied_features(n_gallery, 3, 5);
  std::vector<std::int64_t> exclude;
  for (const QueryTruth& t : random_truth(n_queries, n_gallery, 6)) exclude.push_back(t.exclude);
  const auto expected = brute_force_topk(queries, gallery, k, exclude);
  // Ties at the k-th place must occur for the order of ties to be tested.
  std::int64_t tied_cut = 0;
  const torch::Tensor scores = queries.matmul(gallery.t());
  for (std::int64_t q = 0; q < n_queries; ++q)
    tied_cut += scores[q][expected[q][k - 1]].item<float>() == scores[q][expected[q][k - 2]].item<float>();
  ASSERT_GT(tied_cut, n_queries / 2);
  for (std::size_t block_bytes :
       {std::size_t{1}, std::size_t{4 * 7}, std::size_t{4 * 97 * 5}, std::size_t{1} << 20}) {
    const TopK top = search_topk(queries, gallery, k, exclude, block_bytes);
    EXPECT_EQ(rows_of(top.indices), expected) << "block_bytes " << block_bytes;
    for (std::int64_t q = 0; q < n_queries; ++q)
      for (std::int64_t i = 0; i < k; ++i)
        EXPECT_EQ(top.scores[q][i].item<float>(), scores[q][expected[q][i]].item<float>());
  }
}

TEST(Recall, RanksOfFloatFeaturesWithDuplicatedItemsAcrossTilesEqualBruteForce) {
  // Float features of many dimensions, so that scores are rounded; every
  // gallery item appears twice, far apart, so that equal scores fall in
  // different tiles and only the index may order them.
  torch::manual_seed(9);
  const torch::Tensor queries = torch::nn::functional::normalize(torch::randn({60, 96}));
  const torch::Tensor half = torch::nn::functional::normalize(torch::randn({150, 96}));
  const torch::Tensor gallery = torch::cat({half, half});
  std::vector<QueryTruth> truth = random_truth(60, 300, 10);
  for (std::size_t q = 0; q < 20; ++q)
    truth[q].matches.push_back(truth[q].matches.front() + (truth[q].matches.front() < 150 ? 150 : -150));
  const std::vector<std::int64_t> expected = brute_force_ranks(queries, gallery, truth);
  for (std::size_t block_bytes : {std::size_t{4 * 13}, std::size_t{4 * 300 * 7}, std::size_t{1} << 20})
    EXPECT_EQ(match_ranks(queries, gallery, truth, block_bytes), expected) << "block_bytes " << block_bytes;
  std::vector<std::int64_t> exclude;
  for (const QueryTruth& t : truth) exclude.push_back(t.exclude);
  EXPECT_EQ(rows_of(search_topk(queries, gallery, 50, exclude, 4 * 300 * 3).indices),
            brute_force_topk(queries, gallery, 50, exclude));
}

// The blocked ranking of match_ranks_on_device on `device` against the host
// ranking of match_ranks, on features with many exact ties and on rounded
// float features whose equal scores only the index orders, at blocks of
// one query row, of several, and of more rows than there are queries.
void expect_device_ranks_equal_host_ranks(torch::Device device) {
  const std::int64_t n_queries = 37, n_gallery = 53;
  const torch::Tensor queries = tied_features(n_queries, 3, 1), gallery = tied_features(n_gallery, 3, 2);
  const std::vector<QueryTruth> truth = random_truth(n_queries, n_gallery, 3);
  const torch::Tensor scores = queries.matmul(gallery.t());
  ASSERT_LT(std::get<0>(torch::_unique(scores.flatten())).numel(), scores.numel() / 10);
  const std::vector<std::int64_t> expected = match_ranks(queries, gallery, truth);
  ASSERT_EQ(expected, brute_force_ranks(queries, gallery, truth));
  const torch::Tensor q = queries.to(device), g = gallery.to(device);
  for (std::size_t block_bytes : {std::size_t{1}, std::size_t{4 * 53 * 5}, std::size_t{4 * 53 * 100}})
    EXPECT_EQ(match_ranks_on_device(q, g, truth, block_bytes), expected) << "block_bytes " << block_bytes;

  torch::manual_seed(9);
  const torch::Tensor floats = torch::nn::functional::normalize(torch::randn({60, 96}));
  const torch::Tensor half = torch::nn::functional::normalize(torch::randn({150, 96}));
  const torch::Tensor twice = torch::cat({half, half});
  std::vector<QueryTruth> float_truth = random_truth(60, 300, 10);
  for (std::size_t i = 0; i < 20; ++i)
    float_truth[i].matches.push_back(float_truth[i].matches.front() +
                                     (float_truth[i].matches.front() < 150 ? 150 : -150));
  const std::vector<std::int64_t> float_expected = match_ranks(floats, twice, float_truth);
  for (std::size_t block_bytes : {std::size_t{1}, std::size_t{4 * 300 * 7}, std::size_t{1} << 20})
    EXPECT_EQ(match_ranks_on_device(floats.to(device), twice.to(device), float_truth, block_bytes),
              float_expected)
        << "block_bytes " << block_bytes;
}

TEST(Recall, RanksOnTheDeviceInBlocksEqualTheHostRanksOnTheCpu) {
  expect_device_ranks_equal_host_ranks(torch::kCPU);
  // The edges: a query whose only match is excluded, and an empty gallery.
  EXPECT_EQ(match_ranks_on_device(torch::eye(4).narrow(0, 0, 1), torch::eye(4), {QueryTruth{{0}, 0}}),
            (std::vector<std::int64_t>{4}));
  EXPECT_EQ(match_ranks_on_device(torch::eye(2), torch::zeros({0, 2}), {{}, {}}),
            match_ranks(torch::eye(2), torch::zeros({0, 2}), {{}, {}}));
  EXPECT_THROW(match_ranks_on_device(torch::eye(3), torch::eye(3), {QueryTruth{{0}}, QueryTruth{{5}}, {}}),
               Error);
}

// On a GPU: the same equalities through match_ranks (which ranks CUDA
// features there), with the trial's TF32 switch on, which evaluation must
// not use: queries of 4-bit and gallery items of 12-bit integers score
// exactly in float32, but TF32 keeps 11 significant bits of each input,
// and rounding the gallery so changes ranks. search_topk's tiles on the GPU
// give the host's top k.
TEST(RecallCuda, RanksOnTheGpuEqualTheHostRanksWithTf32On) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device gpu(torch::kCUDA, 0);
  expect_device_ranks_equal_host_ranks(gpu);

  torch::manual_seed(11);
  const torch::Tensor queries = torch::randint(-15, 16, {256, 64}).to(torch::kFloat);
  const torch::Tensor gallery = torch::randint(-4095, 4096, {1024, 64}).to(torch::kFloat);
  const std::vector<QueryTruth> truth = random_truth(256, 1024, 12);
  const std::vector<std::int64_t> expected = brute_force_ranks(queries, gallery, truth);
  const torch::Tensor tf32_gallery =
      torch::where(gallery.abs() >= 2048, torch::round(gallery / 2) * 2, gallery);
  ASSERT_NE(brute_force_ranks(queries, tf32_gallery, truth), expected) << "TF32 would change the ranks";
  apply_matmul_precision(Precision::tf32);
  EXPECT_EQ(match_ranks(queries.to(gpu), gallery.to(gpu), truth, 4 * 1024 * 64), expected);
  std::vector<std::int64_t> exclude;
  for (const QueryTruth& t : truth) exclude.push_back(t.exclude);
  EXPECT_EQ(rows_of(search_topk(queries.to(gpu), gallery.to(gpu), 20, exclude).indices),
            brute_force_topk(queries, gallery, 20, exclude));
  EXPECT_TRUE(at::globalContext().allowTF32CuBLAS()) << "the trial's switch is back";
  apply_matmul_precision(Precision::fp32);
}

TEST(Recall, RecallAtKIsThePercentageOfQueriesRankedBelowK) {
  const std::vector<std::int64_t> ranks = {0, 3, 9, 10, 50, 7};
  EXPECT_EQ(recall_at(ranks, {1, 10, 50, 51}), (std::vector<double>{100.0 / 6, 400.0 / 6, 500.0 / 6, 100.0}));
  EXPECT_THROW(recall_at(ranks, {0}), Error);
}

TEST(Recall, AQueryWhoseOnlyMatchIsExcludedNeverHits) {
  const torch::Tensor gallery = torch::eye(4);
  const torch::Tensor queries = torch::eye(4).narrow(0, 0, 1);
  const std::vector<std::int64_t> ranks = match_ranks(queries, gallery, {QueryTruth{{0}, 0}});
  EXPECT_EQ(ranks, (std::vector<std::int64_t>{4}));
  EXPECT_EQ(recall_at(ranks, {4}), (std::vector<double>{0.0}));
}

TEST(Recall, RejectsBadInputWithTheQueryNamed) {
  const torch::Tensor features = torch::eye(3);
  try {
    match_ranks(features, features, {QueryTruth{{0}}, QueryTruth{{5}}, QueryTruth{{1}}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("query 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(match_ranks(features, torch::eye(4), {{}, {}, {}}), Error);
  torch::Tensor broken = features.clone();
  broken[1][1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(match_ranks(broken, features, {{}, {}, {}}), Error);
}

TEST(Recall, ShardsCoverTheItemsInOrder) {
  for (int size : {1, 2, 3, 7}) {
    std::int64_t next = 0;
    for (int rank = 0; rank < size; ++rank) {
      const auto [begin, end] = shard_range(10, rank, size);
      EXPECT_EQ(begin, next);
      EXPECT_LE(end - begin, 10 / size + 1);
      next = end;
    }
    EXPECT_EQ(next, 10);
  }
}

}  // namespace
}  // namespace cir::workers
