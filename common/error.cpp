#include "common/error.hpp"

#include <fmt/format.h>

#include <vector>

namespace cir {

std::string format_error(const std::string& message, const Where& where, const std::string& hint) {
  std::string out;
  if (!where.file.empty()) {
    out += where.file;
    if (where.line > 0) {
      out += fmt::format(":{}", where.line);
      if (where.column > 0) out += fmt::format(":{}", where.column);
    }
    out += ": ";
  }
  if (!where.key.empty()) out += fmt::format("key '{}': ", where.key);
  out += message;
  std::vector<std::string> context;
  if (!where.trial.empty()) context.push_back(fmt::format("trial {}", where.trial));
  if (where.rank >= 0) context.push_back(fmt::format("rank {}", where.rank));
  if (!context.empty()) out += fmt::format(" ({})", fmt::join(context, ", "));
  if (!hint.empty()) out += fmt::format("\n  hint: {}", hint);
  return out;
}

Error::Error(std::string message, Where where, std::string hint, ExitCode code, int sys_errno)
    : std::runtime_error(format_error(message, where, hint)),
      message_(std::move(message)),
      where_(std::move(where)),
      hint_(std::move(hint)),
      code_(code),
      sys_errno_(sys_errno) {}

Error Error::within(const Where& outer) const {
  Where merged = where_;
  if (merged.file.empty()) {
    merged.file = outer.file;
    if (merged.line == 0) merged.line = outer.line;
    if (merged.column == 0) merged.column = outer.column;
  }
  if (merged.key.empty()) merged.key = outer.key;
  if (merged.trial.empty()) merged.trial = outer.trial;
  if (merged.rank < 0) merged.rank = outer.rank;
  return Error(message_, std::move(merged), hint_, code_, sys_errno_);
}

}  // namespace cir
