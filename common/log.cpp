#include "common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "common/error.hpp"

namespace cir::log {
namespace {

std::atomic<int> g_rank{-1};

Level initial_level() {
  const char* env = std::getenv("CIR_LOG");
  if (env == nullptr || *env == '\0') return Level::info;
  try {
    return parse_level(env);
  } catch (const Error&) {
    std::fprintf(stderr, "warn: ignoring CIR_LOG=%s (use debug, info, warn, error or off)\n", env);
    return Level::info;
  }
}

std::atomic<Level>& level_ref() {
  static std::atomic<Level> current{initial_level()};
  return current;
}

std::mutex g_write_mutex;

constexpr std::string_view level_name(Level l) {
  switch (l) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
    case Level::off:
      return "off";
  }
  return "?";
}

}  // namespace

void set_rank(int rank) { g_rank = rank; }
void set_level(Level l) { level_ref() = l; }
Level level() { return level_ref().load(std::memory_order_relaxed); }

Level parse_level(std::string_view name) {
  for (Level l : {Level::debug, Level::info, Level::warn, Level::error, Level::off}) {
    if (name == level_name(l)) return l;
  }
  throw Error(fmt::format("unknown log level '{}'", name), {}, "use debug, info, warn, error or off");
}

void write(Level l, std::string_view message) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  const int rank = g_rank.load();
  std::string line = rank >= 0 ? fmt::format("{} [rank {}] {}: {}\n", stamp, rank, level_name(l), message)
                               : fmt::format("{} {}: {}\n", stamp, level_name(l), message);
  std::lock_guard lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace cir::log
