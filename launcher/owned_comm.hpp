// An MPI communicator this process created (MPI_Comm_dup, MPI_Comm_split)
// and must free. OwnedComm frees it when it goes out of scope, so an early
// return or an exception between creating and freeing leaks nothing. It is
// move-only: a moved-from OwnedComm holds MPI_COMM_NULL. Freeing is skipped
// for MPI_COMM_NULL and once MPI is finalised (MPI_Finalize released it).
// Communicators follow cir's MPI error policy (common/mpi.hpp): dup() adopts
// its copy under the name it is given.
#pragma once

#include <mpi.h>

#include <string>
#include <utility>

namespace cir::launcher {

class OwnedComm {
 public:
  OwnedComm() = default;
  // Takes ownership of `comm` (MPI_COMM_NULL is allowed: nothing to free).
  explicit OwnedComm(MPI_Comm comm) : comm_(comm) {}
  // A duplicate of `comm` named `name` (MPI_Comm_dup: collective over
  // `comm`; throws cir::Error when it fails).
  static OwnedComm dup(MPI_Comm comm, const std::string& name);

  ~OwnedComm() { free(); }
  OwnedComm(OwnedComm&& other) noexcept : comm_(other.comm_) { other.comm_ = MPI_COMM_NULL; }
  OwnedComm& operator=(OwnedComm&& other) noexcept;
  OwnedComm(const OwnedComm&) = delete;
  OwnedComm& operator=(const OwnedComm&) = delete;

  MPI_Comm get() const { return comm_; }
  // Gives the communicator up without freeing it (an abandoned trial's,
  // whose collectives stay pending: launcher/stall_inspector.hpp).
  MPI_Comm release() { return std::exchange(comm_, MPI_COMM_NULL); }

 private:
  void free() noexcept;
  MPI_Comm comm_ = MPI_COMM_NULL;
};

}  // namespace cir::launcher
