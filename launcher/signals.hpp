// Stop signals: SIGTERM and SIGUSR1 (Slurm preemption, `scancel --signal`)
// ask the sweep to stop at the next step boundary, checkpoint, commit and
// exit 75. The handler only sets a flag.
#pragma once

namespace cir::launcher {

// Installs the handler for SIGTERM and SIGUSR1 (once per process).
void install_stop_handlers();
// Whether a stop signal arrived.
bool stop_signalled();
// The signal number that arrived, 0 if none.
int stop_signal();

}  // namespace cir::launcher
