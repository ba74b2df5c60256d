#include "common/trial.hpp"

#include <nlohmann/json.hpp>

#include <array>

#include "common/error.hpp"

namespace cir {

namespace {

constexpr std::array kOutcomes = {TrialResult::Outcome::done, TrialResult::Outcome::failed,
                                  TrialResult::Outcome::diverged, TrialResult::Outcome::stopped,
                                  TrialResult::Outcome::io_fault};

}  // namespace

const char* to_string(TrialStatus status) {
  switch (status) {
    case TrialStatus::pending:
      return "pending";
    case TrialStatus::running:
      return "running";
    case TrialStatus::done:
      return "done";
    case TrialStatus::failed:
      return "failed";
    case TrialStatus::diverged:
      return "diverged";
  }
  return "unknown";
}

const char* to_string(TrialResult::Outcome outcome) {
  switch (outcome) {
    case TrialResult::Outcome::done:
      return "done";
    case TrialResult::Outcome::failed:
      return "failed";
    case TrialResult::Outcome::diverged:
      return "diverged";
    case TrialResult::Outcome::stopped:
      return "stopped";
    case TrialResult::Outcome::io_fault:
      return "io_fault";
  }
  return "unknown";
}

TrialResult thrown_result(const std::exception& error, std::int32_t epoch) {
  const auto* known = dynamic_cast<const Error*>(&error);
  if (known != nullptr && known->code() == ExitCode::io_fault) {
    return TrialResult{.outcome = TrialResult::Outcome::io_fault,
                       .epoch = epoch,
                       .message = format_error(known->message(), known->where(), {})};
  }
  return TrialResult{.outcome = TrialResult::Outcome::failed, .epoch = epoch, .message = error.what()};
}

void to_json(nlohmann::json& j, TrialResult::Outcome outcome) { j = to_string(outcome); }

void from_json(const nlohmann::json& j, TrialResult::Outcome& outcome) {
  const auto name = j.get<std::string>();
  for (const TrialResult::Outcome known : kOutcomes) {
    if (name == to_string(known)) {
      outcome = known;
      return;
    }
  }
  throw nlohmann::json::other_error::create(501, "unknown trial outcome '" + name + "'", &j);
}

}  // namespace cir
