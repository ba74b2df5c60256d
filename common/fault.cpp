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
#include <vector>

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

// One fault of CIR_FAULT's comma-separated list: <point>:<N>[:kill|hold].
std::unique_ptr<Fault> parse_fault(const std::string& whole, const std::string& text) {
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
    throw Error(fmt::format("CIR_FAULT='{}': '{}' is not <point>:<N>[:kill|hold]", whole, text), {},
                fmt::format("points: {}; N >= 1 (e.g. CIR_FAULT=store.commit:3 or "
                            "CIR_FAULT=train.step:9:hold,store.append:1:hold), or unset CIR_FAULT",
                            fmt::join(kPoints, ", ")));
  }
  return fault;
}

// The faults CIR_FAULT asks for (none when it is unset).
std::vector<std::unique_ptr<Fault>> faults_from_environment() {
  std::vector<std::unique_ptr<Fault>> faults;
  const char* value = std::getenv("CIR_FAULT");
  if (value == nullptr || *value == '\0') return faults;
  const std::string whole = value;
  for (std::size_t start = 0;;) {
    const auto comma = whole.find(',', start);
    faults.push_back(parse_fault(whole, whole.substr(start, comma - start)));
    if (comma == std::string::npos) return faults;
    start = comma + 1;
  }
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
  static const std::vector<std::unique_ptr<Fault>> faults = faults_from_environment();
  for (const auto& fault : faults) {
    if (fault->point != point) continue;
    const long reached = fault->reached.fetch_add(1) + 1;
    if (reached != fault->at) continue;
    if (fault->action == Action::hold) {
      hold(*fault, reached);
      continue;
    }
    std::fprintf(stderr, "CIR_FAULT: pid %d kills itself at %s (arrival %ld)\n", static_cast<int>(getpid()),
                 fault->point.c_str(), reached);
    std::fflush(stderr);
    raise(SIGKILL);
  }
}

}  // namespace cir
