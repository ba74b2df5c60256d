// How cir-sweep shows its progress on standard output (--progress):
//   live   the event lines, and under them a view of the running trials and
//          the sweep's total, redrawn with cursor control: for a terminal
//          someone watches;
//   lines  the timestamped event lines only: for files and Slurm logs;
//   none   nothing (the log lines on standard error stay);
//   automatic (the default) live on an interactive terminal, lines elsewhere.
#pragma once

#include <cstdio>
#include <string>

namespace cir::launcher {

enum class Progress { automatic, live, lines, none };

// "auto", "live", "lines" or "none"; throws cir::Error otherwise.
Progress parse_progress(const std::string& name);

// The mode to use for output `out`: `mode` itself unless it is automatic.
// Automatic is live only when `out` is a terminal and, under an MPI launcher
// (whose ranks write to a pseudo-terminal even when the launcher's own
// output goes to a file or a Slurm log), the launcher's own standard output
// is a terminal too; lines when that cannot be told.
Progress resolve_progress(Progress mode, std::FILE* out);

}  // namespace cir::launcher
