// Leader ↔ coordinator messages survive their JSON round trip.
#include <gtest/gtest.h>

#include "launcher/protocol.hpp"
#include "tests/common/distinct_fields.hpp"

using namespace cir;
using namespace cir::launcher;

TEST(Protocol, EpochRecordRoundTrips) {
  EpochRecord r;
  r.trial_id = "0123456789abcdef";
  r.epoch = 7;
  r.loss_total = 1.25;
  r.loss_info = 0.5;
  r.loss_u = 0.75;
  r.gamma = 0.3;
  r.aug_std = 0.01;
  r.lr = 0.04;
  r.train_seconds = 12.5;
  r.eval_seconds = 2.25;
  r.samples_per_second = 800;
  r.recalls = {{"dress", 10, 31.5}, {"dress", 50, 57.25}};
  const EpochRecord back = decode<EpochRecord>(encode(r));
  EXPECT_EQ(back.trial_id, r.trial_id);
  EXPECT_EQ(back.epoch, 7);
  EXPECT_EQ(back.loss_total, 1.25);
  EXPECT_EQ(back.loss_u, 0.75);
  EXPECT_EQ(back.samples_per_second, 800);
  ASSERT_EQ(back.recalls.size(), 2u);
  EXPECT_EQ(back.recalls[1].split, "dress");
  EXPECT_EQ(back.recalls[1].k, 50);
  EXPECT_EQ(back.recalls[1].value, 57.25);
}

TEST(Protocol, ResultRoundTrips) {
  ResultMessage m{.trial_id = "abc",
                  .result = {.outcome = TrialResult::Outcome::diverged, .epoch = 3, .message = "loss is nan"},
                  .group = 2};
  const ResultMessage back = decode<ResultMessage>(encode(m));
  EXPECT_EQ(back.trial_id, "abc");
  EXPECT_EQ(back.result.outcome, TrialResult::Outcome::diverged);
  EXPECT_EQ(back.result.epoch, 3);
  EXPECT_EQ(back.result.message, "loss is nan");
  EXPECT_EQ(back.group, 2);
}

template <typename Message>
void expect_round_trip() {
  const auto message = cir::testing::distinct_record<Message>();
  cir::testing::expect_every_field_filled(message);
  EXPECT_EQ(decode<Message>(encode(message)), message) << encode(message);
}

TEST(Protocol, EveryFieldOfEveryMessageRoundTrips) {
  expect_round_trip<SetupMessage>();
  expect_round_trip<RequestMessage>();
  expect_round_trip<AssignMessage>();
  expect_round_trip<EpochRecord>();
  expect_round_trip<AckMessage>();
  expect_round_trip<ResultMessage>();
  expect_round_trip<TrialResult>();
}

TEST(Protocol, AMessageOfAnotherKindIsAnError) {
  EXPECT_THROW(decode<ResultMessage>(encode(AssignMessage{.trial = 3, .resume_from = 1})),
               nlohmann::json::exception);
  EXPECT_THROW(decode<AssignMessage>("not json"), nlohmann::json::exception);
}

TEST(Protocol, AMessageHoldingBytesThatAreNotUtf8TravelsWithReplacementCharacters) {
  // A trial's error quoting a Latin-1 caption used to throw in the sender
  // (nlohmann type_error 316) and abort the rank.
  ResultMessage m{
      .trial_id = "abc",
      .result = {.outcome = TrialResult::Outcome::failed, .epoch = 0, .message = "caption caf\xE9"},
      .group = 0};
  const ResultMessage back = decode<ResultMessage>(encode(m));
  EXPECT_EQ(back.result.message, "caption caf\xEF\xBF\xBD");
}
