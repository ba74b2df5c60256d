// The trial contract (common/keys.hpp): its keys are well formed, its
// defaults pass its own checks, and no source file outside it spells a key.
#include "common/keys.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/error.hpp"

namespace {

namespace fs = std::filesystem;
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

// Done when: no source file spells a key but the contract (and the tests).
// Comments may name keys; code reads them through the constants.
TEST(Keys, NoSourceFileSpellsAKeyOutsideTheContract) {
  const fs::path root = CIR_SOURCE_DIR;
  std::vector<std::string> quoted;
  for (const Key* key : cir::keys::all()) quoted.push_back('"' + std::string(key->name) + '"');
  std::size_t files = 0;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    if (it->is_directory()) {
      const bool skip = name.starts_with('.') || name.starts_with("build") || path == root / "tests";
      if (skip) it.disable_recursion_pending();
      continue;
    }
    const std::string ext = path.extension().string();
    if (ext != ".cpp" && ext != ".hpp") continue;
    if (path == root / "common/keys.hpp" || path == root / "common/keys.cpp") continue;
    ++files;
    std::ifstream in(path);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      const std::string code = line.substr(0, line.find("//"));
      for (const std::string& key : quoted)
        EXPECT_EQ(code.find(key), std::string::npos)
            << fs::relative(path, root).string() << ":" << number << " spells " << key
            << "; read it through cir::keys (common/keys.hpp)";
    }
  }
  EXPECT_GT(files, 100u);  // the scan saw the tree
}

}  // namespace
