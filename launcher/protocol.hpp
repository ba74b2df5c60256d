// What group leaders and the coordinator say to each other over MPI
// (docs/architecture.md "The coordinator"). Every message is a JSON text on the
// coordinator's communicator; the tag says what it is.
//   leader → coordinator: request (wants work), record (one epoch; the
//                         coordinator answers ack once it holds it), result
//   coordinator → leader: assign (a trial and the epoch to continue from),
//                         finish (no more work), ack
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "common/trial.hpp"

namespace cir::launcher {

enum Tag : int { kRequest = 101, kAssign = 102, kFinish = 103, kRecord = 104, kAck = 105, kResult = 106 };

struct Assignment {
  std::int64_t trial = -1;  // index in the sweep's trial list; -1 = finish
  std::int32_t resume_from = 0;
};

nlohmann::json to_json(const EpochRecord& record);
EpochRecord record_from_json(const nlohmann::json& json);

// A trial's end as sent by its leader.
struct ResultMessage {
  std::string trial_id;
  TrialResult result;
  int group = -1;
};
nlohmann::json to_json(const ResultMessage& message);
ResultMessage result_from_json(const nlohmann::json& json);

const char* to_string(TrialResult::Outcome outcome);

}  // namespace cir::launcher
