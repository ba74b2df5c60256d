#include "common/fault.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/error.hpp"

namespace cir {

namespace {

constexpr std::array<std::string_view, 2> kPoints = {"checkpoint.write", "store.commit"};

struct Fault {
  std::string point;
  long at = 0;
  std::atomic<long> reached{0};
};

// The fault CIR_FAULT asks for, or null when it is unset.
std::unique_ptr<Fault> fault_from_environment() {
  const char* value = std::getenv("CIR_FAULT");
  if (value == nullptr || *value == '\0') return nullptr;
  const std::string text = value;
  const auto colon = text.rfind(':');
  auto fault = std::make_unique<Fault>();
  fault->point = text.substr(0, colon == std::string::npos ? text.size() : colon);
  char* end = nullptr;
  if (colon != std::string::npos) fault->at = std::strtol(text.c_str() + colon + 1, &end, 10);
  const bool known = std::find(kPoints.begin(), kPoints.end(), fault->point) != kPoints.end();
  if (!known || fault->at < 1 || end == nullptr || *end != '\0') {
    throw Error(fmt::format("CIR_FAULT='{}' is not <point>:<N>", text), {},
                fmt::format("points: {}; N >= 1 (e.g. CIR_FAULT=store.commit:3), or unset CIR_FAULT",
                            fmt::join(kPoints, ", ")));
  }
  return fault;
}

}  // namespace

void fault_point(std::string_view point) {
  static const std::unique_ptr<Fault> fault = fault_from_environment();
  if (!fault || fault->point != point) return;
  const long reached = fault->reached.fetch_add(1) + 1;
  if (reached != fault->at) return;
  std::fprintf(stderr, "CIR_FAULT: pid %d kills itself at %s (arrival %ld)\n", static_cast<int>(getpid()),
               fault->point.c_str(), reached);
  std::fflush(stderr);
  raise(SIGKILL);
}

}  // namespace cir
