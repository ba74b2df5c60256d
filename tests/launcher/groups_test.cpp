// Group layout: consecutive ranks, never across a node that can hold a group.
#include <gtest/gtest.h>

#include "launcher/groups.hpp"

using cir::launcher::assign_groups;

TEST(Groups, ConsecutiveRanksOnOneNode) {
  EXPECT_EQ(assign_groups({0, 0, 0, 0}, 2), (std::vector<int>{0, 0, 1, 1}));
  EXPECT_EQ(assign_groups({0, 0, 0, 0}, 1), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(assign_groups({0, 0, 0}, 2), (std::vector<int>{0, 0, -1}));  // one rank idle
}

TEST(Groups, NoGroupSpansNodesThatCanHoldIt) {
  // Two nodes of 3 ranks, groups of 2: one group per node, the leftovers pair up.
  EXPECT_EQ(assign_groups({0, 0, 0, 3, 3, 3}, 2), (std::vector<int>{0, 0, 1, 2, 2, 1}));
  // Nodes of 2 ranks and groups of 4: a group must span nodes.
  EXPECT_EQ(assign_groups({0, 0, 2, 2}, 4), (std::vector<int>{0, 0, 0, 0}));
}

TEST(Groups, InterleavedNodesStillGroupByNode) {
  // Round-robin placement (rank 0 and 2 on node A, 1 and 3 on node B).
  EXPECT_EQ(assign_groups({0, 1, 0, 1}, 2), (std::vector<int>{0, 1, 0, 1}));
}
