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

TEST(Params, ReadsByContractKey) {
  cir::Params p(R"({"loss.gamma0":"inf","loss.w1":2,"train.epochs":6,"model.text.encoder":"lstm",
                   "train.lr_steps":[4,5],"model.image.layer4_stride1":false})",
                "t1");
  EXPECT_TRUE(std::isinf(p.get(cir::keys::loss::gamma0)));
  EXPECT_DOUBLE_EQ(p.get(cir::keys::loss::w1), 2.0);
  EXPECT_EQ(p.get(cir::keys::train::epochs), 6);
  EXPECT_EQ(p.get(cir::keys::model::text::encoder), "lstm");
  EXPECT_EQ(p.get(cir::keys::train::lr_steps), (std::vector<std::int64_t>{4, 5}));
  EXPECT_FALSE(p.get(cir::keys::model::image::layer4_stride1));
  EXPECT_EQ(p.where(cir::keys::loss::w1).key, "loss.w1");
  EXPECT_EQ(p.where(cir::keys::loss::w1).trial, "t1");
}

// A value that breaks the contract is an error at the read, naming the key,
// the trial and what the key accepts.
TEST(Params, ContractReadsRefuseWhatTheContractRefuses) {
  cir::Params p(R"({"loss.w1":-1,"train.lr":"inf","loss.augmenter":"papr","eval.ks":[1,0],
                   "train.epochs":2.5})",
                "9c1d");
  try {
    p.get(cir::keys::loss::w1);
    FAIL() << "no error";
  } catch (const cir::Error& e) {
    EXPECT_EQ(e.where().key, "loss.w1");
    EXPECT_EQ(e.where().trial, "9c1d");
    EXPECT_EQ(e.message(), "expected a number ≥ 0, found the integer -1");
  }
  EXPECT_THROW(p.get(cir::keys::train::lr), cir::Error);
  EXPECT_THROW(p.get(cir::keys::loss::augmenter), cir::Error);
  EXPECT_THROW(p.get(cir::keys::eval::ks), cir::Error);
  EXPECT_THROW(p.get(cir::keys::train::epochs), cir::Error);
}

// The launcher puts every training key in; a Params without one (written
// before the key existed) reads the same default the launcher would use.
TEST(Params, AnAbsentKeyReadsAsTheContractDefault) {
  const cir::Params p(R"({"loss.gamma0":2})");
  EXPECT_EQ(p.get(cir::keys::train::batch), 32);
  EXPECT_DOUBLE_EQ(p.get(cir::keys::loss::w1), 1.0);
  EXPECT_EQ(p.get(cir::keys::loss::augmenter), "reference");
  EXPECT_EQ(p.get(cir::keys::eval::ks), (std::vector<std::int64_t>{1, 10, 50}));
  try {
    p.get(cir::keys::sweep::name);  // no default
    FAIL() << "no error";
  } catch (const cir::Error& e) {
    EXPECT_EQ(e.where().key, "sweep.name");
    EXPECT_EQ(e.message(), "missing parameter");
  }
}

TEST(Params, MovesAndCopiesKeepTheValues) {
  cir::Params a(R"({"train.epochs":6})", "t1");
  cir::Params b = std::move(a);
  EXPECT_EQ(b.get(cir::keys::train::epochs), 6);
  EXPECT_EQ(b.trial(), "t1");
  cir::Params c(R"({"train.epochs":7})");
  c = b;
  EXPECT_EQ(c.get(cir::keys::train::epochs), 6);
  a = std::move(c);  // a moved-from Params takes a new value
  EXPECT_EQ(a.get(cir::keys::train::epochs), 6);
  EXPECT_EQ(b.get(cir::keys::train::epochs), 6);
}

}  // namespace
