// Logging on fmt: one line per message on stderr, with time, rank and level,
// safe to call from several threads. Slurm logs and terminals read the same.
//   2026-11-22T08:20:01Z [rank 3] warn: trial 3f2a91c0 diverged at epoch 4
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace cir::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

// The rank printed in every line; -1 (the default) prints none.
void set_rank(int rank);
// Messages below `level` are dropped. The default is info, or the level
// named by the environment variable CIR_LOG (debug, info, warn, error, off).
void set_level(Level level);
Level level();
// Parses "debug", "info", "warn", "error", "off"; throws cir::Error otherwise.
Level parse_level(std::string_view name);

void write(Level level, std::string_view message);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::debug) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::info) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::warn) write(Level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::error) write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace cir::log
