// Waiting on MPI without spinning a core: Open MPI's blocking calls poll,
// and the cores belong to data loading and training. These test a request
// and sleep briefly between tests. Every MPI call is checked
// (common/mpi.hpp): a failure throws cir::Error.
#pragma once

#include <mpi.h>

#include <string>

namespace cir::launcher {

// Waits for `request`, started on `comm` (MPI_Test + a short sleep).
void wait_politely(MPI_Request& request, MPI_Comm comm, MPI_Status* status = MPI_STATUS_IGNORE);

// Receives one text with `tag` (or any tag) from `source` on `comm`,
// politely; `*tag_out` gets the tag when given.
std::string receive_text(MPI_Comm comm, int source, int tag, int* tag_out = nullptr);
// Broadcasts a text from `root` over `comm`, politely.
void broadcast_text(MPI_Comm comm, int root, std::string& text);
// Sends a text (blocking; texts are small).
void send_text(MPI_Comm comm, int dest, int tag, const std::string& text);

// A barrier that sleeps while it waits.
void polite_barrier(MPI_Comm comm);

}  // namespace cir::launcher
