// Stop signals: SIGTERM and SIGUSR1 (Slurm preemption, `scancel --signal`,
// slurm/run-sweep) ask a sweep to stop at the next step boundary, checkpoint,
// commit and exit 75. The handler only sets a flag, which the coordinator,
// every trial (TrialContext::stop_requested) and the `hold` fault points
// (common/fault.hpp) read.
//
// cir-sweep starts with both signals blocked (launcher/trampoline.cpp), so a
// stop that arrives while the program is still being loaded waits, pending,
// until install_stop_handlers() takes it.
#pragma once

namespace cir {

// Installs the handler for SIGTERM and SIGUSR1 and unblocks them: a stop
// that is pending already sets the flag before this returns.
void install_stop_handlers();
// Unblocks SIGTERM and SIGUSR1 without a handler, for a program that does
// not stop gracefully (cir-sweep --dry-run): a pending one ends it.
void unblock_stop_signals();
// Whether a stop signal arrived.
bool stop_signalled();
// The signal number that arrived, 0 if none.
int stop_signal();

}  // namespace cir
