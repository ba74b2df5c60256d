// The records of common/trial.hpp survive their one JSON encoding with every
// field, and the encoding names the fields as their tables do.
#include <gtest/gtest.h>

#include <cerrno>
#include <stdexcept>

#include "common/error.hpp"
#include "common/fields_json.hpp"
#include "common/trial.hpp"
#include "tests/common/distinct_fields.hpp"

namespace {

using namespace cir;
using nlohmann::json;

template <typename Record>
void expect_json_round_trip() {
  const auto record = cir::testing::distinct_record<Record>();
  cir::testing::expect_every_field_filled(record);
  const json encoded = record;
  EXPECT_EQ(json::parse(encoded.dump()).get<Record>(), record) << encoded.dump();
}

TEST(TrialRecords, EveryFieldRoundTripsThroughJson) {
  expect_json_round_trip<EpochRecord>();
  expect_json_round_trip<RecallValue>();
  expect_json_round_trip<TrialResult>();
  expect_json_round_trip<TrialSpec>();
}

// One key per table entry, named as the store's columns ("trial", not the
// member's name), so no two fields share a key.
TEST(TrialRecords, AnEpochRecordHasOneJsonKeyPerField) {
  const json encoded = cir::testing::distinct_record<EpochRecord>();
  EXPECT_EQ(encoded.size(), std::tuple_size_v<decltype(fields_of<EpochRecord>())>);
  EXPECT_TRUE(encoded.contains("trial"));
  EXPECT_EQ(encoded.at("recalls").at(0).size(), std::tuple_size_v<decltype(fields_of<RecallValue>())>);
}

TEST(TrialRecords, AnOutcomeIsItsNameAndAnUnknownNameIsAnError) {
  for (const auto outcome :
       {TrialResult::Outcome::done, TrialResult::Outcome::failed, TrialResult::Outcome::diverged,
        TrialResult::Outcome::stopped, TrialResult::Outcome::io_fault}) {
    const json encoded = outcome;
    EXPECT_EQ(encoded, to_string(outcome));
    EXPECT_EQ(encoded.get<TrialResult::Outcome>(), outcome);
  }
  EXPECT_THROW(json("finished").get<TrialResult::Outcome>(), json::exception);
}

TEST(TrialRecords, AnIoFaultEndsARunAsResumableAndAnyOtherErrorFailsIt) {
  const Error full("cannot write: No space left on device (1.0 KiB free on its file system)",
                   Where{.file = "ckpt/x"}, "free space, then run again", ExitCode::io_fault, ENOSPC);
  const TrialResult fault = thrown_result(full, 3);
  EXPECT_EQ(fault.outcome, TrialResult::Outcome::io_fault);
  EXPECT_EQ(fault.epoch, 3);
  EXPECT_EQ(fault.message, "ckpt/x: cannot write: No space left on device (1.0 KiB free on its file system)");
  const Error denied("cannot write: Permission denied", Where{.file = "ckpt/x"}, "check", ExitCode::usage,
                     EACCES);
  EXPECT_EQ(thrown_result(denied, 1).outcome, TrialResult::Outcome::failed);
  EXPECT_EQ(thrown_result(denied, 1).message, denied.what());
  EXPECT_EQ(thrown_result(std::runtime_error("boom"), 0).outcome, TrialResult::Outcome::failed);
}

TEST(TrialRecords, AMissingFieldIsAnError) {
  json encoded = cir::testing::distinct_record<EpochRecord>();
  encoded.erase("lr");
  EXPECT_THROW(encoded.get<EpochRecord>(), json::exception);
}

}  // namespace
