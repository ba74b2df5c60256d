// Trial expansion: counts, order, collapse of equal points, stable ids and
// the canonical parameters every trial carries.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "common/digest.hpp"
#include "common/keys.hpp"
#include "common/params.hpp"
#include "launcher/expand.hpp"
#include "launcher/spec.hpp"

namespace fs = std::filesystem;
using cir::launcher::expand;
using cir::launcher::load_spec;
using cir::launcher::load_spec_text;
using nlohmann::json;

namespace {
const fs::path kSource = CIR_SOURCE_DIR;

std::vector<json> params_of(const std::vector<cir::TrialSpec>& trials) {
  std::vector<json> out;
  for (const auto& t : trials) out.push_back(json::parse(t.params_json));
  return out;
}
}  // namespace

TEST(Expand, NoiseScaleSharedPointRunsOnce) {
  const auto trials = expand(load_spec(kSource / "sweeps/noise_scale.toml"));
  ASSERT_EQ(trials.size(), 17u);
  std::set<std::string> ids;
  int shared = 0;
  for (const auto& p : params_of(trials)) {
    if (p["loss.w1"] == 1.0 && p["loss.w2"] == 1.0) ++shared;
    EXPECT_TRUE(p["loss.w1"] == 1.0 || p["loss.w2"] == 1.0);
  }
  for (const auto& t : trials) ids.insert(t.id);
  EXPECT_EQ(shared, 1);
  EXPECT_EQ(ids.size(), 17u);
  EXPECT_EQ(trials.front().swept_keys, (std::vector<std::string>{"loss.w1", "loss.w2"}));
}

TEST(Expand, OrderIsFileOrderFirstAxisOutermostSeedsInnermost) {
  const auto trials = expand(load_spec_text(
      "[sweep]\nname = \"o\"\nseeds = [7, 3]\n[grid]\n\"loss.w2\" = [0.5, 0.1]\n\"loss.w1\" = [2.0, 1.0]\n",
      "o.toml"));
  ASSERT_EQ(trials.size(), 8u);
  const auto p = params_of(trials);
  const std::vector<std::tuple<double, double, std::int64_t>> expected = {
      {0.5, 2.0, 7}, {0.5, 2.0, 3}, {0.5, 1.0, 7}, {0.5, 1.0, 3},
      {0.1, 2.0, 7}, {0.1, 2.0, 3}, {0.1, 1.0, 7}, {0.1, 1.0, 3}};
  for (std::size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(p[i]["loss.w2"], std::get<0>(expected[i])) << i;
    EXPECT_EQ(p[i]["loss.w1"], std::get<1>(expected[i])) << i;
    EXPECT_EQ(trials[i].seed, std::get<2>(expected[i])) << i;
    EXPECT_EQ(trials[i].index, static_cast<std::int64_t>(i));
  }
  EXPECT_EQ(trials.front().swept_keys, (std::vector<std::string>{"loss.w2", "loss.w1"}));
}

TEST(Expand, CommonAxesCrossEveryUnionBlock) {
  const auto trials =
      expand(load_spec_text("[sweep]\nname = \"u\"\n[grid]\n\"train.epochs\" = [1, 2]\n"
                            "[[grid.union]]\n\"loss.w1\" = [3.0]\n[[grid.union]]\n\"loss.w2\" = [4.0, 5.0]\n",
                            "u.toml"));
  EXPECT_EQ(trials.size(), 2u + 4u);
}

TEST(Expand, EqualPointsCollapseWhateverTheSpelling) {
  const auto trials =
      expand(load_spec_text("[sweep]\nname = \"c\"\n[[grid.union]]\n\"loss.gamma0\" = [1, 1.0, inf]\n"
                            "[[grid.union]]\n\"loss.gamma0\" = [inf]\n\"train.lr\" = [0.04]\n",
                            "c.toml"));
  EXPECT_EQ(trials.size(), 2u);  // 1 = 1.0; train.lr 0.04 is the default
}

TEST(Expand, IdsAreTheDigestOfParametersAndSeed) {
  const auto trials = expand(load_spec(kSource / "sweeps/gamma0.toml"));
  for (const auto& t : trials) {
    json params = json::parse(t.params_json);
    params.erase("data.invalid_text");  // keys added later, at their defaults
    params.erase("train.precision");
    EXPECT_EQ(t.id, cir::short_digest(params.dump() + "#seed=" + std::to_string(t.seed)));
  }
  // Same spec, same ids; a grown grid keeps the ids of the points it had.
  const auto again = expand(load_spec(kSource / "sweeps/gamma0.toml"));
  for (std::size_t i = 0; i < trials.size(); ++i) EXPECT_EQ(trials[i].id, again[i].id);
  const auto one = expand(load_spec_text(
      "[sweep]\nname = \"gamma0\"\nextends = \"base/shoes.toml\"\n[grid]\n\"loss.gamma0\" = [0.5, 42.0]\n",
      kSource / "sweeps/grown.toml"));
  EXPECT_EQ(one[0].id, trials[1].id);  // γ0 = 0.5
}

// A store's finished trials keep their ids when cir gains a key: the id of an
// all-defaults trial is the one cir gave it before data.invalid_text and
// train.precision existed; setting such a key away from its default is a
// new trial.
TEST(Expand, KeysAddedLaterLeaveIdsAtTheirDefaults) {
  const auto before = expand(load_spec_text("[sweep]\nname = \"p\"\n", "p.toml"));
  EXPECT_EQ(before.at(0).id, "6cba4b563ad9677a");
  EXPECT_EQ(json::parse(before.at(0).params_json).at("train.precision"), "fp32");
  const auto bf16 =
      expand(load_spec_text("[sweep]\nname = \"p\"\n[train]\nprecision = \"bf16\"\n", "p.toml"));
  EXPECT_NE(bf16.at(0).id, before.at(0).id);
}

TEST(Expand, ParamsHoldEveryTrainingKeySortedWithInfAsString) {
  const auto trials = expand(load_spec(kSource / "sweeps/gamma0.toml"));
  const json last = json::parse(trials.back().params_json);
  std::set<std::string> keys;
  for (const auto& [key, value] : last.items()) keys.insert(key);
  std::set<std::string> training;
  for (const cir::keys::Key* key : cir::keys::all())
    if (key->training()) training.insert(key->name);
  EXPECT_EQ(keys, training);
  EXPECT_EQ(last["loss.gamma0"], "inf");
  EXPECT_EQ(trials.back().params_json, last.dump());  // sorted, compact: canonical
  const cir::Params params(trials.back().params_json);
  EXPECT_TRUE(std::isinf(params.number("loss.gamma0")));
  EXPECT_EQ(params.integer("train.epochs"), 60);
  EXPECT_EQ(params.integers("eval.ks"), (std::vector<std::int64_t>{1, 10, 50}));
}

TEST(Expand, LongerTrialsCostMore) {
  const auto spec = load_spec(kSource / "sweeps/gamma0.toml");
  const auto base = expand(spec).front().expected_cost;
  EXPECT_GT(expand(load_spec(kSource / "sweeps/gamma0.toml", {"train.epochs=120"})).front().expected_cost,
            base);
  EXPECT_LT(expand(load_spec(kSource / "sweeps/synthetic/gamma0.toml")).front().expected_cost, base);
}

TEST(Expand, DryRunTableListsEveryTrial) {
  const auto spec = load_spec(kSource / "sweeps/dropout.toml");
  const auto trials = expand(spec);
  const std::string table = cir::launcher::trial_table(spec, trials);
  EXPECT_NE(table.find("sweep dropout: 4 trials"), std::string::npos);
  EXPECT_NE(table.find("model.text.dropout"), std::string::npos);
  for (const auto& t : trials) EXPECT_NE(table.find(t.id), std::string::npos);
}
