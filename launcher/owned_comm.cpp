#include "launcher/owned_comm.hpp"

#include <utility>

#include "common/mpi.hpp"

namespace cir::launcher {

OwnedComm OwnedComm::dup(MPI_Comm comm, const std::string& name) {
  MPI_Comm copy = MPI_COMM_NULL;
  mpi::check(MPI_Comm_dup(comm, &copy), "MPI_Comm_dup", comm);
  OwnedComm owned(copy);
  mpi::adopt(copy, name);
  return owned;
}

OwnedComm& OwnedComm::operator=(OwnedComm&& other) noexcept {
  if (this != &other) {
    free();
    comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
  }
  return *this;
}

void OwnedComm::free() noexcept {
  if (comm_ == MPI_COMM_NULL) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Comm_free(&comm_);
  comm_ = MPI_COMM_NULL;
}

}  // namespace cir::launcher
