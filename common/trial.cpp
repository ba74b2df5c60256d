#include "common/trial.hpp"

namespace cir {

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

}  // namespace cir
