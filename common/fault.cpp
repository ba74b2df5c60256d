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

enum class Action { kill, hold, sleep, raise };

struct Fault {
  std::string point;
  long at = 0;
  Action action = Action::kill;
  double seconds = 0.0;  // sleep=<seconds>
  long rank = -1;        // @<rank>: only the process of this world rank acts; -1: every process
  std::atomic<long> reached{0};
};

// The world rank mpirun gave this process, or -1 outside mpirun.
long world_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"})
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0')
      return std::strtol(value, nullptr, 10);
  return -1;
}

// `text` as a whole number >= 0, or -1.
long whole_number(const std::string& text) {
  char* end = nullptr;
  const long value = text.empty() ? -1 : std::strtol(text.c_str(), &end, 10);
  return end != nullptr && *end == '\0' ? value : -1;
}

// Reads kill, hold, throw or sleep=<seconds> into `fault`; false for
// anything else.
bool parse_action(const std::string& text, Fault& fault) {
  if (text == "kill" || text == "hold" || text == "throw") {
    fault.action = text == "kill" ? Action::kill : text == "hold" ? Action::hold : Action::raise;
    return true;
  }
  if (!text.starts_with("sleep=")) return false;
  char* end = nullptr;
  fault.action = Action::sleep;
  fault.seconds = std::strtod(text.c_str() + 6, &end);
  return end != text.c_str() + 6 && *end == '\0' && fault.seconds >= 0;
}

// One fault of CIR_FAULT's comma-separated list:
// <point>:<N>[:<action>][@<rank>].
std::unique_ptr<Fault> parse_fault(const std::string& whole, const std::string& item) {
  const auto at = item.find('@');
  const std::string text = item.substr(0, at);
  const auto colon = text.find(':');
  const auto second = colon == std::string::npos ? std::string::npos : text.find(':', colon + 1);
  auto fault = std::make_unique<Fault>();
  fault->point = text.substr(0, colon);
  if (colon != std::string::npos) fault->at = whole_number(text.substr(colon + 1, second - colon - 1));
  if (at != std::string::npos) fault->rank = whole_number(item.substr(at + 1));
  const bool action = parse_action(second == std::string::npos ? "kill" : text.substr(second + 1), *fault);
  const bool known = std::find(kPoints.begin(), kPoints.end(), fault->point) != kPoints.end();
  if (!known || fault->at < 1 || !action || (at != std::string::npos && fault->rank < 0)) {
    throw Error(
        fmt::format("CIR_FAULT='{}': '{}' is not <point>:<N>[:kill|hold|throw|sleep=<seconds>][@<rank>]",
                    whole, item),
        {},
        fmt::format(
            "points: {}; N >= 1; rank: a world rank (e.g. CIR_FAULT=store.commit:3, "
            "CIR_FAULT=train.step:9:hold,store.append:1:hold or CIR_FAULT=train.step:6:sleep=5@3), or "
            "unset CIR_FAULT",
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
  const long rank = world_rank();
  for (std::size_t start = 0;;) {
    const auto comma = whole.find(',', start);
    auto fault = parse_fault(whole, whole.substr(start, comma - start));
    if (fault->rank < 0 || fault->rank == rank) faults.push_back(std::move(fault));
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
    const int pid = static_cast<int>(getpid());
    switch (fault->action) {
      case Action::hold:
        hold(*fault, reached);
        continue;
      case Action::sleep:
        std::fprintf(stderr, "CIR_FAULT: pid %d sleeps %g s at %s (arrival %ld)\n", pid, fault->seconds,
                     fault->point.c_str(), reached);
        std::fflush(stderr);
        std::this_thread::sleep_for(std::chrono::duration<double>(fault->seconds));
        continue;
      case Action::raise:
        throw Error(fmt::format("CIR_FAULT: pid {} throws at {} (arrival {})", pid, fault->point, reached));
      case Action::kill:
        break;
    }
    std::fprintf(stderr, "CIR_FAULT: pid %d kills itself at %s (arrival %ld)\n", pid, fault->point.c_str(),
                 reached);
    std::fflush(stderr);
    raise(SIGKILL);
  }
}

}  // namespace cir
