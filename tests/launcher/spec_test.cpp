// Spec loading and validation: the shipped sweeps load, every broken spec of
// tests/bad_specs/ gives the message it names, --set is typed, presets
// chain, and the schema matches sweeps/README.md.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/keys.hpp"
#include "launcher/expand.hpp"
#include "launcher/schema.hpp"
#include "launcher/spec.hpp"

namespace fs = std::filesystem;
using cir::Error;
using cir::launcher::expand;
using cir::launcher::load_spec;
using cir::launcher::load_spec_text;

namespace {

const fs::path kSource = CIR_SOURCE_DIR;

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `body` with the working directory set to `dir`.
template <typename F>
void in_dir(const fs::path& dir, F&& body) {
  const fs::path before = fs::current_path();
  fs::current_path(dir);
  try {
    body();
  } catch (...) {
    fs::current_path(before);
    throw;
  }
  fs::current_path(before);
}

std::string unescape(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && std::string("nrt").find(text[i + 1]) != std::string::npos) {
      out += text[i + 1] == 'n' ? '\n' : text[i + 1] == 'r' ? '\r' : '\t';
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<fs::path> bad_specs() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kSource / "tests/bad_specs"))
    if (entry.path().extension() == ".toml") files.push_back(entry.path().filename());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST(BadSpecs, CorpusIsLarge) { EXPECT_GE(bad_specs().size(), 25u); }

class BadSpec : public testing::TestWithParam<fs::path> {};

// Each file starts with "# expect: <first line of the error>" and
// "# hint: <hint>" (empty for none), and may give "# set: key=value" (where
// \n, \r and \t stand for a line break, a carriage return and a tab).
TEST_P(BadSpec, GivesItsMessage) {
  const fs::path dir = kSource / "tests/bad_specs";
  std::istringstream text(read(dir / GetParam()));
  std::string expect, hint, line;
  std::vector<std::string> sets;
  while (std::getline(text, line)) {
    if (line.starts_with("# expect: ")) expect = line.substr(10);
    if (line.starts_with("# hint:")) hint = line.size() > 8 ? line.substr(8) : "";
    if (line.starts_with("# set: ")) sets.push_back(unescape(line.substr(7)));
  }
  ASSERT_FALSE(expect.empty()) << GetParam() << " has no '# expect:' line";
  in_dir(dir, [&] {
    try {
      auto spec = load_spec(GetParam(), sets);
      expand(spec);
      ADD_FAILURE() << GetParam() << " loaded without an error";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.substr(0, what.find('\n')), expect);
      EXPECT_EQ(e.hint(), hint);
      EXPECT_EQ(e.code(), cir::ExitCode::usage);
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadSpec, testing::ValuesIn(bad_specs()),
                         [](const auto& info) { return info.param.stem().string(); });

TEST(Spec, ShippedSweepsLoadAndExpand) {
  const std::map<std::string, std::size_t> expected = {
      {"gamma0.toml", 8},         {"noise_scale.toml", 17}, {"dropout.toml", 4},
      {"main_fashioniq.toml", 2}, {"main_shoes.toml", 2},   {"main_fashion200k.toml", 2},
  };
  for (const auto& [file, count] : expected) {
    const auto paper = load_spec(kSource / "sweeps" / file);
    EXPECT_EQ(expand(paper).size(), count) << file;
    EXPECT_EQ(paper.name + ".toml", file);
    const auto twin = load_spec(kSource / "sweeps/synthetic" / file);
    EXPECT_EQ(expand(twin).size(), count * twin.seeds.size()) << "synthetic/" << file;
    EXPECT_EQ(twin.settings.at("data.dataset").value, "synthetic") << "synthetic/" << file;
  }
  // The discrepancy sweep and its twin: 3 switches × 2 choices × 3 seeds each.
  for (const char* file : {"sweeps/discrepancy.toml", "sweeps/synthetic/discrepancy.toml"}) {
    const auto spec = load_spec(kSource / file);
    EXPECT_EQ(expand(spec).size(), 24u) << file;
    EXPECT_EQ(spec.settings.at("loss.gamma0").value, 1.0) << file;
  }
}

TEST(Spec, AFolderGivenAsTheSpecSaysSoAndNamesASpecInIt) {
  try {
    load_spec(kSource / "sweeps" / "synthetic");
    FAIL() << "a folder loaded as a spec";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("sweeps/synthetic is a folder, not a spec file"), std::string::npos) << what;
    EXPECT_NE(what.find("hint: give one of its specs, e.g. " + (kSource / "sweeps/synthetic/base.toml").string()),
              std::string::npos)
        << what;
    EXPECT_EQ(what.find("no sweep name"), std::string::npos) << what;
  }
}

TEST(Spec, PresetsChainAndTheNearestFileWins) {
  const auto spec = load_spec(kSource / "sweeps/base/fashioniq_paper.toml", {"sweep.name=x"});
  ASSERT_EQ(spec.chain.size(), 3u);                                // fashioniq_paper → fashioniq → shoes
  EXPECT_EQ(spec.settings.at("train.lr").value, 0.02);             // the paper variant
  EXPECT_EQ(spec.settings.at("train.epochs").value, 50);           // the paper variant
  EXPECT_EQ(spec.settings.at("data.dataset").value, "fashioniq");  // fashioniq.toml
  EXPECT_EQ(spec.settings.at("train.momentum").value, 0.9);        // shoes.toml
  EXPECT_EQ(spec.settings.at("model.lstm.hidden").value, 512);     // the schema default
  EXPECT_EQ(spec.settings.at("train.epochs").where.file, spec.chain[0].string());
  EXPECT_EQ(spec.settings.at("train.epochs").where.line, 13);
}

TEST(Spec, SetIsTypedAndOverridesEverything) {
  const auto gamma0 = kSource / "sweeps/gamma0.toml";
  ::setenv("CIR_TEST_USER", "ada", 1);
  auto spec =
      load_spec(gamma0, {"train.epochs=2", "train.lr=1", "data.root=/data/${CIR_TEST_USER}x",
                         "train.lr_steps=[1, 2]", "sweep.seeds=[3, 4]", "model.image.layer4_stride1=false"});
  EXPECT_EQ(spec.settings.at("train.epochs").value, 2);
  EXPECT_TRUE(spec.settings.at("train.lr").value.is_number_float());  // 1 → 1.0
  EXPECT_EQ(spec.settings.at("train.lr").value, 1.0);
  EXPECT_EQ(spec.settings.at("data.root").value, "/data/adax");
  EXPECT_EQ(spec.settings.at("train.lr_steps").value, nlohmann::json::array({1, 2}));
  EXPECT_EQ(spec.settings.at("model.image.layer4_stride1").value, false);
  EXPECT_EQ(spec.seeds, (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(expand(spec).size(), 16u);
  // Setting a swept key pins it: the grid collapses to one point.
  EXPECT_EQ(expand(load_spec(gamma0, {"loss.gamma0=inf"})).size(), 1u);
  EXPECT_THROW(load_spec(gamma0, {"train.epochs=2.5"}), Error);
  EXPECT_THROW(load_spec(gamma0, {"model.image.layer4_stride1=1"}), Error);
  EXPECT_THROW(load_spec(gamma0, {"train.lr_steps=3"}), Error);
  EXPECT_THROW(load_spec(gamma0, {"data.dataset=imagenet"}), Error);
}

TEST(Spec, EnvironmentVariablesExpandInStrings) {
  ::setenv("CIR_TEST_DATA", "/mnt/data", 1);
  const auto spec =
      load_spec_text("[sweep]\nname = \"e\"\n[data]\nroot = \"${CIR_TEST_DATA}/shoes\"\n", "e.toml");
  EXPECT_EQ(spec.settings.at("data.root").value, "/mnt/data/shoes");
}

TEST(Spec, DottedAndTableFormsAreTheSame) {
  const auto a =
      load_spec_text("[sweep]\nname = \"d\"\n[loss]\ngamma0 = 2\n[grid]\nloss.w1 = [1, 2]\n", "a.toml");
  const auto b = load_spec_text(
      "sweep.name = \"d\"\n\"loss.gamma0\" = 2.0\n[grid]\n\"loss.w1\" = [1.0, 2.0]\n", "b.toml");
  const auto ta = expand(a), tb = expand(b);
  ASSERT_EQ(ta.size(), 2u);
  ASSERT_EQ(tb.size(), 2u);
  EXPECT_EQ(ta[0].id, tb[0].id);
  EXPECT_EQ(ta[1].id, tb[1].id);
}

TEST(Spec, StoreDefaultsToResultsName) {
  EXPECT_EQ(load_spec(kSource / "sweeps/gamma0.toml").store, fs::path("results/gamma0.h5"));
  EXPECT_EQ(load_spec(kSource / "sweeps/gamma0.toml", {"sweep.store=/tmp/g.h5"}).store,
            fs::path("/tmp/g.h5"));
}

TEST(Spec, ResolvedTextDefinesTheTrials) {
  const auto gamma0 = kSource / "sweeps/gamma0.toml";
  const std::string text = cir::launcher::resolved_text(load_spec(gamma0));
  EXPECT_EQ(text, cir::launcher::resolved_text(load_spec(gamma0)));
  // Rank layout and description do not change which trials a sweep has.
  EXPECT_EQ(text, cir::launcher::resolved_text(
                      load_spec(gamma0, {"sweep.ranks_per_trial=2", "sweep.description=\"other\""})));
  EXPECT_NE(text, cir::launcher::resolved_text(load_spec(gamma0, {"train.epochs=3"})));
  EXPECT_NE(text.find("'loss.gamma0' = [ 0.1, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, inf ]"), std::string::npos)
      << text;
}

namespace {

// The keys of sweeps/README.md's tables, in the order it lists them.
std::vector<std::string> readme_keys() {
  const std::string readme = read(kSource / "sweeps/README.md");
  const std::regex row(R"(^\| `([a-z0-9_.]+)` \|)", std::regex::multiline);
  std::vector<std::string> documented;
  for (auto it = std::sregex_iterator(readme.begin(), readme.end(), row); it != std::sregex_iterator(); ++it)
    documented.push_back((*it)[1].str());
  return documented;
}

}  // namespace

// sweeps/README.md documents the contract (common/keys.hpp): it must list
// exactly the contract's keys.
TEST(Schema, MatchesSweepsReadme) {
  const std::vector<std::string> listed = readme_keys();
  const std::set<std::string> documented(listed.begin(), listed.end());
  std::set<std::string> known;
  for (const cir::keys::Key* key : cir::keys::all()) known.insert(key->name);
  EXPECT_EQ(documented, known);
}

// … and in the contract's order, so a reader finds a key where it is defined.
TEST(Schema, SweepsReadmeListsKeysInContractOrder) {
  std::vector<std::string> contract;
  for (const cir::keys::Key* key : cir::keys::all()) contract.emplace_back(key->name);
  EXPECT_EQ(readme_keys(), contract);
}

TEST(Schema, SuggestsTheNearestKey) {
  EXPECT_EQ(cir::launcher::suggest_key("loss.gama0"), "loss.gamma0");
  EXPECT_EQ(cir::launcher::suggest_key("train.gamma0"), "loss.gamma0");
  EXPECT_EQ(cir::launcher::suggest_key("model.txt.encoder"), "model.text.encoder");
  EXPECT_EQ(cir::launcher::suggest_key("completely.different"), "");
}

TEST(Spec, OnlyTheDescriptionMayHoldLineBreaksAndTabs) {
  const auto spec =
      load_spec_text("[sweep]\nname = \"ok\"\ndescription = \"\"\"two\n\tlines\"\"\"\n", "ok.toml");
  EXPECT_EQ(spec.description, "two\n\tlines");
  EXPECT_THROW(load_spec_text("[sweep]\nname = \"ok\"\n[data]\nroot = \"\"\"two\nlines\"\"\"\n", "ok.toml"),
               Error);
}

TEST(Spec, AGridAtTheTrialLimitLoadsAndOneTrialMoreIsRefused) {
  // 10 × 10 × 10 × 10 points × 10 seeds = the limit; an eleventh seed is over it.
  std::string grid = "[grid]\n";
  for (const char* key : {"loss.w1", "loss.w2", "loss.gamma0", "train.lr"})
    grid += fmt::format("\"{}\" = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n", key);
  const std::string ten = "[sweep]\nname = \"big\"\nseeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n";
  const std::string eleven = "[sweep]\nname = \"big\"\nseeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n";
  EXPECT_NO_THROW(load_spec_text(ten + grid, "big.toml"));
  try {
    load_spec_text(eleven + grid, "big.toml");
    FAIL() << "a grid over the limit loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the grid makes 110000 trials"), std::string::npos) << e.what();
    EXPECT_EQ(e.where().line, 4);
  }
}
