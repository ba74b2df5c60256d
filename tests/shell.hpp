// Runs a shell command for a test and captures what it prints: one helper
// for every test that starts a program (cir-report, Python readers,
// Chromium). The command runs exactly as given, so the caller says where
// stderr goes ("… 2>&1" to capture it, "… 2>/dev/null" to drop it).
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace cir::testing {

struct Shell {
  int code = -1;    // the exit status, or -1 when the command did not exit normally
  std::string out;  // what it wrote to stdout
};

inline Shell shell(const std::string& command) {
  Shell run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) run.out.append(buffer, n);
  const int status = pclose(pipe);
  run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

}  // namespace cir::testing
