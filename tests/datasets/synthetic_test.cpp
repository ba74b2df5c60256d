#include "datasets/synthetic.hpp"

#include <gtest/gtest.h>

#include <set>

#include "common/error.hpp"
#include "support.hpp"

namespace cir::datasets {
namespace {

using testing::params;

TEST(Synthetic, SizesFollowTheKeys) {
  auto ds = make_synthetic(SyntheticOptions::from(params()));
  EXPECT_EQ(ds->training().size(), 48u);
  ASSERT_EQ(ds->splits().size(), 1u);
  EXPECT_EQ(ds->splits()[0].name, "test");
  EXPECT_EQ(ds->splits()[0].queries.size(), 24u);
  EXPECT_EQ(ds->splits()[0].gallery.size(), 24u * 3u);  // attribute sets × twins
  EXPECT_EQ(ds->images().size(), 2 * 24 * 3);           // training and test pools
  EXPECT_EQ(ds->image_size(), 32);
  EXPECT_EQ(ds->eval_image(0).sizes(), (std::vector<std::int64_t>{3, 32, 32}));
}

TEST(Synthetic, SameSeedSameDataOtherSeedOtherData) {
  auto a = make_synthetic(SyntheticOptions::from(params()));
  auto b = make_synthetic(SyntheticOptions::from(params()));
  auto c = make_synthetic(SyntheticOptions::from(params({{"data.synthetic.seed", 1}})));
  EXPECT_EQ(a->training_captions(), b->training_captions());
  EXPECT_NE(a->training_captions(), c->training_captions());
  EXPECT_TRUE(torch::equal(a->eval_image(5), b->eval_image(5)));
  EXPECT_FALSE(torch::equal(a->eval_image(5), c->eval_image(5)));
}

TEST(Synthetic, TrainingAndTestPoolsAreSeparate) {
  auto ds = make_synthetic(SyntheticOptions::from(params()));
  const auto pool = ds->pool_size();
  for (const auto& t : ds->training()) {
    EXPECT_LT(t.reference, pool);
    EXPECT_LT(t.target, pool);
  }
  for (auto g : ds->splits()[0].gallery) EXPECT_GE(g, pool);
}

TEST(Synthetic, CoarseQueriesHaveSeveralTrueMatchesAllConsistentWithTheText) {
  auto ds = make_synthetic(SyntheticOptions::from(params({{"data.synthetic.test_queries", 80}})));
  const auto& split = ds->splits()[0];
  int coarse = 0, fine = 0;
  for (std::size_t q = 0; q < split.queries.size(); ++q) {
    const auto& query = split.queries[q];
    const auto& ref = ds->instances()[query.reference].attributes;
    ASSERT_GE(query.exclude, 0);
    EXPECT_EQ(split.gallery[query.exclude], query.reference);
    if (ds->coarse_test_query(q)) {
      ++coarse;
      EXPECT_GE(query.true_matches.size(), 3u) << query.caption;  // all twins of at least one set
      EXPECT_EQ(ds->test_captions(q).second, "other details may differ");
      std::set<int> sets;
      for (auto m : query.true_matches) {
        const auto& a = ds->instances()[split.gallery[m]].attributes;
        sets.insert(ds->instances()[split.gallery[m]].attribute_set);
        const int differ = (a.shape != ref.shape) + (a.colour != ref.colour) + (a.size != ref.size) +
                           (a.position != ref.position);
        EXPECT_GE(differ, 1);
        EXPECT_LE(differ, 2);
      }
      // Every twin of every valid set is listed.
      EXPECT_EQ(query.true_matches.size(), sets.size() * 3);
    } else {
      ++fine;
      ASSERT_EQ(query.true_matches.size(), 1u);
      const auto& target = ds->instances()[split.gallery[query.true_matches[0]]].attributes;
      EXPECT_NE(query.caption.find(std::string(kColours[target.colour]) + " " + kShapes[target.shape]),
                std::string::npos)
          << query.caption;
      EXPECT_NE(query.caption.find(kPositions[target.position]), std::string::npos) << query.caption;
    }
  }
  EXPECT_GT(coarse, 20);
  EXPECT_GT(fine, 20);
}

TEST(Synthetic, TwinsLookAlikeButDiffer) {
  auto ds = make_synthetic(SyntheticOptions::from(params()));
  const auto a = ds->eval_image(0), b = ds->eval_image(1), other = ds->eval_image(3);
  EXPECT_EQ(ds->instances()[0].attributes, ds->instances()[1].attributes);
  EXPECT_FALSE(torch::equal(a, b));
  EXPECT_NE(ds->instances()[0].attributes, ds->instances()[3].attributes);
}

TEST(Synthetic, OutOfRangeKeysNameTheKey) {
  try {
    SyntheticOptions::from(params({{"data.synthetic.attribute_sets", 500}}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where().key, "data.synthetic.attribute_sets");
  }
  EXPECT_THROW(SyntheticOptions::from(params({{"data.synthetic.coarse_fraction", 1.5}})), Error);
}

}  // namespace
}  // namespace cir::datasets
