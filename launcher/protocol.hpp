// What the ranks of a sweep say to each other over MPI
// (docs/architecture.md "The coordinator"). Every message is the JSON text
// of one of the records below (common/fields_json.hpp); on the
// coordinator's communicators the tag says which.
//   rank 0 → every rank:  setup (broadcast once, before the groups form)
//   leader → coordinator: request (wants work), record (an EpochRecord; the
//                         coordinator answers ack once it holds it), result,
//                         fatal (a result after which the job must end: a
//                         rank of the group is stuck; launcher/stall_inspector.hpp)
//   coordinator → leader: assign (a trial, its attempt and the epoch to continue from),
//                         no more work (an empty message), ack
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "common/fields_json.hpp"
#include "common/text.hpp"
#include "common/trial.hpp"

namespace cir::launcher {

enum Tag : int {
  kRequest = 101,
  kAssign = 102,
  kNoMoreWork = 103,
  kRecord = 104,
  kAck = 105,
  kResult = 106,
  kFatal = 107
};

// What rank 0 tells every rank before the sweep starts.
struct SetupMessage {
  int code = 0;  // non-zero: every rank exits with it
  int ranks_per_trial = 1;
  int max_retries = 0;  // sweep.max_retries, for the coordinator
  std::string checkpoint_root;
  std::vector<TrialSpec> trials;
  double stall_warning = 0.0, stall_timeout = 0.0;  // seconds (sweep.stall_warning, sweep.stall_timeout)

  bool operator==(const SetupMessage&) const = default;
};

constexpr auto fields(std::type_identity<SetupMessage>) {
  return std::tuple{Field{"code", &SetupMessage::code},
                    Field{"ranks_per_trial", &SetupMessage::ranks_per_trial},
                    Field{"max_retries", &SetupMessage::max_retries},
                    Field{"checkpoint_root", &SetupMessage::checkpoint_root},
                    Field{"trials", &SetupMessage::trials},
                    Field{"stall_warning", &SetupMessage::stall_warning},
                    Field{"stall_timeout", &SetupMessage::stall_timeout}};
}
static_assert(lists_every_member<SetupMessage>());

// A group leader asks for work.
struct RequestMessage {
  int group = -1;

  bool operator==(const RequestMessage&) const = default;
};

constexpr auto fields(std::type_identity<RequestMessage>) {
  return std::tuple{Field{"group", &RequestMessage::group}};
}
static_assert(lists_every_member<RequestMessage>());

// The coordinator hands a leader a trial: which attempt (TrialRow::retries:
// a retry starts from nothing, in a checkpoint folder of its own), from
// which epoch.
struct AssignMessage {
  std::int64_t trial = 0;  // index in the sweep's trial list
  std::int32_t resume_from = 0;
  std::int32_t attempt = 0;

  bool operator==(const AssignMessage&) const = default;
};

constexpr auto fields(std::type_identity<AssignMessage>) {
  return std::tuple{Field{"trial", &AssignMessage::trial}, Field{"resume_from", &AssignMessage::resume_from},
                    Field{"attempt", &AssignMessage::attempt}};
}
static_assert(lists_every_member<AssignMessage>());

// The coordinator holds this epoch of this trial. `stop`: the sweep is
// stopping (a stop signal on rank 0, an I/O fault): the group stops at its
// next step, as after a stop signal of its own.
struct AckMessage {
  std::string trial_id;
  std::int32_t epoch = 0;
  bool stop = false;

  bool operator==(const AckMessage&) const = default;
};

constexpr auto fields(std::type_identity<AckMessage>) {
  return std::tuple{Field{"trial", &AckMessage::trial_id}, Field{"epoch", &AckMessage::epoch},
                    Field{"stop", &AckMessage::stop}};
}
static_assert(lists_every_member<AckMessage>());

// A trial's end as sent by its leader.
struct ResultMessage {
  std::string trial_id;
  TrialResult result;
  int group = -1;

  bool operator==(const ResultMessage&) const = default;
};

constexpr auto fields(std::type_identity<ResultMessage>) {
  return std::tuple{Field{"trial", &ResultMessage::trial_id}, Field{"result", &ResultMessage::result},
                    Field{"group", &ResultMessage::group}};
}
static_assert(lists_every_member<ResultMessage>());

// The text of a message, and a message from its text; decode throws
// nlohmann::json::exception for a text that is not one. A string that is not
// UTF-8 (a trial's error message quoting a file) travels with U+FFFD in
// place of its bad bytes instead of throwing in the sender.
template <HasFields Message>
std::string encode(const Message& message) {
  return json_text(nlohmann::json(message));
}

template <HasFields Message>
Message decode(const std::string& text) {
  return nlohmann::json::parse(text).get<Message>();
}

}  // namespace cir::launcher
