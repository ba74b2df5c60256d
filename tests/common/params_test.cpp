#include "common/params.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.hpp"

namespace {

TEST(Params, ReadsEachTypeByDottedKey) {
  cir::Params p(R"({"loss.gamma0":"inf","loss.w1":0.5,"train.epochs":6,"model.text.encoder":"lstm",
                   "train.lr_steps":[4,5],"eval.ks":[1,10],"data.flip":true,"train.lr":2})",
                "t1");
  EXPECT_TRUE(std::isinf(p.number("loss.gamma0")));
  EXPECT_DOUBLE_EQ(p.number("loss.w1"), 0.5);
  EXPECT_DOUBLE_EQ(p.number("train.lr"), 2.0);
  EXPECT_EQ(p.integer("train.epochs"), 6);
  EXPECT_EQ(p.string("model.text.encoder"), "lstm");
  EXPECT_EQ(p.integers("train.lr_steps"), (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(p.numbers("eval.ks"), (std::vector<double>{1.0, 10.0}));
  EXPECT_TRUE(p.boolean("data.flip"));
  EXPECT_EQ(p.integer("absent", 7), 7);
  EXPECT_EQ(p.string("absent", "x"), "x");
}

TEST(Params, ErrorsNameTheKeyAndTheTrial) {
  cir::Params p(R"({"train.epochs":6.5,"train.lr":"fast"})", "3f2a91c0");
  try {
    p.integer("train.epochs");
    FAIL() << "no error";
  } catch (const cir::Error& e) {
    EXPECT_EQ(e.where().key, "train.epochs");
    EXPECT_EQ(e.where().trial, "3f2a91c0");
    EXPECT_NE(std::string(e.what()).find("expected an integer"), std::string::npos);
  }
  EXPECT_THROW(p.number("train.lr"), cir::Error);
  EXPECT_THROW(p.number("missing"), cir::Error);
  EXPECT_THROW(cir::Params("[1,2]"), cir::Error);
  EXPECT_THROW(cir::Params("{not json"), cir::Error);
}

}  // namespace
