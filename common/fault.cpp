#include "common/fault.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "common/signals.hpp"

namespace cir {

namespace {

constexpr std::array<std::string_view, 5> kPoints = {"checkpoint.write", "store.commit", "store.append",
                                                     "train.step", "eval.split"};

enum class Action { kill, hold };

struct Fault {
  std::string point;
  long at = 0;
  Action action = Action::kill;
  std::atomic<long> reached{0};
};

// The fault CIR_FAULT asks for, or null when it is unset.
std::unique_ptr<Fault> fault_from_environment() {
  const char* value = std::getenv("CIR_FAULT");
  if (value == nullptr || *value == '\0') return nullptr;
  const std::string text = value;
  const auto colon = text.find(':');
  const auto second = colon == std::string::npos ? std::string::npos : text.find(':', colon + 1);
  auto fault = std::make_unique<Fault>();
  fault->point = text.substr(0, colon);
  const std::string number =
      colon == std::string::npos ? std::string() : text.substr(colon + 1, second - colon - 1);
  const std::string action = second == std::string::npos ? "kill" : text.substr(second + 1);
  char* end = nullptr;
  if (!number.empty()) fault->at = std::strtol(number.c_str(), &end, 10);
  fault->action = action == "hold" ? Action::hold : Action::kill;
  const bool known = std::find(kPoints.begin(), kPoints.end(), fault->point) != kPoints.end();
  if (!known || fault->at < 1 || end == nullptr || *end != '\0' || (action != "kill" && action != "hold")) {
    throw Error(
        fmt::format("CIR_FAULT='{}' is not <point>:<N>[:kill|hold]", text), {},
        fmt::format("points: {}; N >= 1 (e.g. CIR_FAULT=store.commit:3 or CIR_FAULT=train.step:9:hold), "
                    "or unset CIR_FAULT",
                    fmt::join(kPoints, ", ")));
  }
  return fault;
}

// Waits until this process has received a stop signal (common/signals.hpp).
void hold(const Fault& fault, long reached) {
  std::fprintf(stderr, "CIR_FAULT: pid %d holds at %s (arrival %ld) until a stop signal\n",
               static_cast<int>(getpid()), fault.point.c_str(), reached);
  std::fflush(stderr);
  while (!stop_signalled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::fprintf(stderr, "CIR_FAULT: pid %d goes on at %s after signal %d\n", static_cast<int>(getpid()),
               fault.point.c_str(), stop_signal());
  std::fflush(stderr);
}

}  // namespace

void fault_point(std::string_view point) {
  static const std::unique_ptr<Fault> fault = fault_from_environment();
  if (!fault || fault->point != point) return;
  const long reached = fault->reached.fetch_add(1) + 1;
  if (reached != fault->at) return;
  if (fault->action == Action::hold) return hold(*fault, reached);
  std::fprintf(stderr, "CIR_FAULT: pid %d kills itself at %s (arrival %ld)\n", static_cast<int>(getpid()),
               fault->point.c_str(), reached);
  std::fflush(stderr);
  raise(SIGKILL);
}

}  // namespace cir
