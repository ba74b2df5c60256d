#include "common/error.hpp"

#include <gtest/gtest.h>

namespace cir {
namespace {

TEST(Error, FormatsLikeACompilerDiagnostic) {
  Error e("unknown key", Where{.file = "sweeps/gamma0.toml", .line = 12, .column = 3, .key = "loss.gama0"},
          "did you mean 'loss.gamma0'?");
  EXPECT_STREQ(e.what(),
               "sweeps/gamma0.toml:12:3: key 'loss.gama0': unknown key\n"
               "  hint: did you mean 'loss.gamma0'?");
  EXPECT_EQ(e.code(), ExitCode::usage);
  EXPECT_EQ(e.message(), "unknown key");
}

TEST(Error, PrintsOnlyTheFieldsThatAreSet) {
  EXPECT_STREQ(Error("boom").what(), "boom");
  EXPECT_STREQ(Error("boom", Where{.file = "a.h5"}).what(), "a.h5: boom");
  EXPECT_STREQ(Error("boom", Where{.file = "a.toml", .line = 4}).what(), "a.toml:4: boom");
  EXPECT_STREQ(Error("loss is NaN", Where{.trial = "3f2a91c0", .rank = 2}).what(),
               "loss is NaN (trial 3f2a91c0, rank 2)");
}

TEST(Error, WithinAddsContextWithoutOverwriting) {
  Error inner("image is truncated", Where{.file = "images/12.jpg"}, "", ExitCode::trials_failed);
  Error outer = inner.within(Where{.file = "ignored.toml", .trial = "abc", .rank = 1});
  EXPECT_STREQ(outer.what(), "images/12.jpg: image is truncated (trial abc, rank 1)");
  EXPECT_EQ(outer.code(), ExitCode::trials_failed);
}

TEST(ExitCodes, MatchTheDesign) {
  EXPECT_EQ(static_cast<int>(ExitCode::ok), 0);
  EXPECT_EQ(static_cast<int>(ExitCode::usage), 2);
  EXPECT_EQ(static_cast<int>(ExitCode::store_refused), 3);
  EXPECT_EQ(static_cast<int>(ExitCode::trials_failed), 4);
  EXPECT_EQ(static_cast<int>(ExitCode::preempted), 75);
}

}  // namespace
}  // namespace cir
