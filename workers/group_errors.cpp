#include "workers/group_errors.hpp"

#include <array>
#include <string>

#include "common/mpi.hpp"

namespace cir::workers {

void agree_on_errors(MPI_Comm comm, const std::optional<Error>& error) {
  int rank = 0, size = 1;
  mpi::check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank", comm);
  mpi::check(MPI_Comm_size(comm, &size), "MPI_Comm_size", comm);
  if (size == 1) {
    if (error) throw *error;
    return;
  }
  const int mine = error ? rank : size;
  int first = size;
  mpi::check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce", comm);
  if (first == size) return;
  // The lowest failing rank's message (with where it happened) and hint,
  // one after the other, and their lengths, exit code and errno.
  std::string text;
  std::array<int, 4> facts{};
  if (rank == first) {
    const std::string message = format_error(error->message(), error->where(), {});
    text = message + error->hint();
    facts = {static_cast<int>(message.size()), static_cast<int>(error->hint().size()),
             static_cast<int>(error->code()), error->sys_errno()};
  }
  mpi::check(MPI_Bcast(facts.data(), static_cast<int>(facts.size()), MPI_INT, first, comm), "MPI_Bcast",
             comm);
  text.resize(static_cast<std::size_t>(facts[0] + facts[1]));
  mpi::check(MPI_Bcast(text.data(), facts[0] + facts[1], MPI_CHAR, first, comm), "MPI_Bcast", comm);
  throw Error(text.substr(0, static_cast<std::size_t>(facts[0])), Where{.rank = first},
              text.substr(static_cast<std::size_t>(facts[0])), static_cast<ExitCode>(facts[2]), facts[3]);
}

}  // namespace cir::workers
