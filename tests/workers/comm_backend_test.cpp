// When make_backend() (workers/comm_backend.hpp) must keep CUDA tensors off
// NCCL: two ranks of the group on the same GPU, the same PCI bus id on the
// same host. Its collective half is Comm.EveryRankLearnsWhichRanksShareAGpu.
#include "workers/comm_backend.hpp"

#include <gtest/gtest.h>

namespace cir::workers {
namespace {

using Pair = std::optional<std::pair<int, int>>;

TEST(RanksSharingAGpu, NoneWhenEveryRankHasItsOwn) {
  EXPECT_EQ(ranks_sharing_a_gpu({}), Pair{});
  EXPECT_EQ(ranks_sharing_a_gpu({{"n1", "0000:3B:00.0"}}), Pair{});
  // One GPU per rank on one node, and the same bus id on different nodes.
  EXPECT_EQ(
      ranks_sharing_a_gpu(
          {{"n1", "0000:3B:00.0"}, {"n1", "0000:5D:00.0"}, {"n2", "0000:3B:00.0"}, {"n2", "0000:5D:00.0"}}),
      Pair{});
}

TEST(RanksSharingAGpu, NamesTheFirstRankOnAGpuTakenBeforeAndThatEarlierRank) {
  // Four ranks on a node with two GPUs, placed by local rank mod 2 as
  // workers/trainer.cpp does: rank 2 is the first on a GPU already taken.
  EXPECT_EQ(
      ranks_sharing_a_gpu(
          {{"n1", "0000:3B:00.0"}, {"n1", "0000:5D:00.0"}, {"n1", "0000:3B:00.0"}, {"n1", "0000:5D:00.0"}}),
      Pair({0, 2}));
  EXPECT_EQ(ranks_sharing_a_gpu({{"n1", "a"}, {"n2", "a"}, {"n2", "b"}, {"n2", "b"}, {"n2", "a"}}),
            Pair({2, 3}));
  EXPECT_EQ(ranks_sharing_a_gpu({{"n1", "a"}, {"n1", "a"}}), Pair({0, 1}));
}

}  // namespace
}  // namespace cir::workers
