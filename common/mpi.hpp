// cir's one MPI error policy (docs/architecture.md "Errors and exit codes"):
// every communicator cir creates or is handed (the world, the node, group
// and trial communicators, the coordinator's inbox and outbox) returns
// errors instead of aborting (MPI_ERRORS_RETURN), and every MPI call is
// checked: a failure becomes a cir::Error that names the call, the
// communicator and the rank. Inside a trial such an error fails the trial;
// anywhere else it ends the job with the error's code (75: the store holds
// every committed epoch, a rerun resumes).
//
// This is the MPI part of common/ (target cir_mpi): the torch-free half's
// cir_common links no MPI; the launcher and the workers link this.
#pragma once

#include <mpi.h>

#include <string>

namespace cir::mpi {

// Sets MPI_ERRORS_RETURN on `comm` and gives it `name`, which errors on it
// quote ("group 1", "inbox", …).
void adopt(MPI_Comm comm, const std::string& name);

// Throws cir::Error (ExitCode::preempted) naming `call`, the communicator
// `comm` (its name, and this process's rank in it) and MPI's text unless
// `rc` is MPI_SUCCESS. Where.rank is the world rank.
void check(int rc, const char* call, MPI_Comm comm = MPI_COMM_WORLD);

}  // namespace cir::mpi
