// Longest-expected-first: the queue hands out the run with the most work left.
#include <gtest/gtest.h>

#include "launcher/work_queue.hpp"

using cir::TrialSpec;
using cir::launcher::WorkQueue;

namespace {
TrialSpec costing(double cost) {
  TrialSpec t;
  t.expected_cost = cost;
  return t;
}
}  // namespace

TEST(WorkQueue, LongestFirstTiesByIndex) {
  WorkQueue queue;
  queue.push(costing(1.0), 0, 0, 10);
  queue.push(costing(5.0), 1, 0, 10);
  queue.push(costing(3.0), 2, 0, 10);
  queue.push(costing(5.0), 3, 0, 10);
  std::vector<std::size_t> order;
  while (auto work = queue.pop()) order.push_back(work->trial);
  EXPECT_EQ(order, (std::vector<std::size_t>{1, 3, 2, 0}));
  EXPECT_TRUE(queue.empty());
}

TEST(WorkQueue, ResumedRunsCountOnlyTheEpochsLeft) {
  WorkQueue queue;
  queue.push(costing(10.0), 0, 8, 10);  // 2 of 10 epochs left: 2.0
  queue.push(costing(4.0), 1, 0, 10);   // 4.0
  EXPECT_DOUBLE_EQ(queue.total_cost(), 6.0);
  const auto first = queue.pop();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->trial, 1u);
  const auto second = queue.pop();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->resume_from, 8);
  EXPECT_DOUBLE_EQ(second->remaining_cost, 2.0);
}
