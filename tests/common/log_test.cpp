#include "common/log.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace cir {
namespace {

TEST(Log, LinesCarryRankAndLevel) {
  log::set_rank(3);
  log::set_level(log::Level::info);
  testing::internal::CaptureStderr();
  log::info("trial {} done", "abc");
  log::debug("not shown");
  const std::string out = testing::internal::GetCapturedStderr();
  log::set_rank(-1);
  EXPECT_NE(out.find("[rank 3] info: trial abc done\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("not shown"), std::string::npos);
}

TEST(Log, ParsesLevelsAndRejectsOthers) {
  EXPECT_EQ(log::parse_level("warn"), log::Level::warn);
  EXPECT_THROW(log::parse_level("loud"), Error);
}

}  // namespace
}  // namespace cir
