// The trial contract (common/keys.hpp): its keys are well formed, its
// defaults pass its own checks.
#include "common/keys.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "common/error.hpp"

namespace {

using cir::keys::Key;

TEST(Keys, NamesAreUniqueAndSweepKeysComeFirst) {
  std::set<std::string> names;
  bool training_seen = false;
  for (const Key* key : cir::keys::all()) {
    EXPECT_TRUE(names.insert(key->name).second) << key->name;
    EXPECT_EQ(cir::keys::find(key->name), key);
    if (key->training()) training_seen = true;
    EXPECT_TRUE(key->training() || !training_seen) << key->name << " comes after a training key";
  }
  EXPECT_EQ(cir::keys::find("loss.gama0"), nullptr);
  EXPECT_EQ(std::string(cir::keys::loss::gamma0.name), "loss.gamma0");
}

TEST(Keys, EveryDefaultPassesItsOwnCheck) {
  for (const Key* key : cir::keys::all()) {
    const nlohmann::json fallback = cir::keys::default_value(*key);
    if (fallback.is_null()) {
      EXPECT_EQ(key->type, cir::keys::Type::string) << key->name;
      continue;
    }
    EXPECT_NO_THROW(cir::keys::check(*key, fallback)) << key->name << " = " << fallback.dump();
  }
  EXPECT_TRUE(cir::keys::default_value(cir::keys::sweep::name).is_null());
  EXPECT_EQ(cir::keys::default_value(cir::keys::train::lr_steps), nlohmann::json::array({35, 42}));
}

TEST(Keys, CheckNamesWhatTheKeyAccepts) {
  using cir::keys::check;
  EXPECT_EQ(check(cir::keys::loss::gamma0, "inf"), "inf");
  EXPECT_EQ(check(cir::keys::loss::gamma0, 2), 2.0);
  EXPECT_TRUE(check(cir::keys::loss::gamma0, 2).is_number_float());
  try {
    check(cir::keys::train::warmup_factor, 0.0);
    FAIL() << "0 is outside (0, 1]";
  } catch (const cir::Error& e) {
    EXPECT_EQ(e.message(), "expected a number in (0, 1], found the number 0.0");
  }
  EXPECT_THROW(check(cir::keys::train::lr, "inf"), cir::Error);
  EXPECT_THROW(check(cir::keys::data::dataset, "imagenet"), cir::Error);
  EXPECT_THROW(check(cir::keys::eval::ks, nlohmann::json::array({1, 0})), cir::Error);
}

}  // namespace
