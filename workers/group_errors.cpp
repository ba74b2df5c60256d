#include "workers/group_errors.hpp"

#include <vector>

#include "common/error.hpp"
#include "common/mpi.hpp"

namespace cir::workers {

void agree_on_errors(MPI_Comm comm, const std::optional<std::string>& error) {
  int rank = 0, size = 1;
  mpi::check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank", comm);
  mpi::check(MPI_Comm_size(comm, &size), "MPI_Comm_size", comm);
  if (size == 1) {
    if (error) throw Error(*error);
    return;
  }
  const int mine = error ? rank : size;
  int first = size;
  mpi::check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce", comm);
  if (first == size) return;
  int length = rank == first ? static_cast<int>(error->size()) : 0;
  mpi::check(MPI_Bcast(&length, 1, MPI_INT, first, comm), "MPI_Bcast", comm);
  std::vector<char> text(static_cast<std::size_t>(length));
  if (rank == first) text.assign(error->begin(), error->end());
  mpi::check(MPI_Bcast(text.data(), length, MPI_CHAR, first, comm), "MPI_Bcast", comm);
  throw Error(std::string(text.begin(), text.end()), Where{.rank = first});
}

}  // namespace cir::workers
