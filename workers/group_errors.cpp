#include "workers/group_errors.hpp"

#include <array>
#include <string>
#include <vector>

#include "common/collective_watch.hpp"
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
  // This rank's number (the group size when it did not fail) and the
  // lowest failing rank's.
  auto numbers = std::make_unique<std::array<int, 2>>(std::array<int, 2>{error ? rank : size, size});
  auto& n = *numbers;
  mpi::collective(
      comm, "MPI_Iallreduce",
      [&](MPI_Request* r) { return MPI_Iallreduce(&n[0], &n[1], 1, MPI_INT, MPI_MIN, comm, r); },
      [&] { return std::move(numbers); });
  const int first = n[1];
  if (first == size) return;
  // The lowest failing rank's message (with where it happened) and hint,
  // one after the other, and their lengths, exit code and errno.
  auto facts = std::make_unique<std::array<int, 4>>();
  auto& f = *facts;
  std::string mine;
  if (rank == first) {
    const std::string message = format_error(error->message(), error->where(), {});
    mine = message + error->hint();
    f = {static_cast<int>(message.size()), static_cast<int>(error->hint().size()),
         static_cast<int>(error->code()), error->sys_errno()};
  }
  mpi::collective(
      comm, "MPI_Ibcast",
      [&](MPI_Request* r) {
        return MPI_Ibcast(f.data(), static_cast<int>(f.size()), MPI_INT, first, comm, r);
      },
      [&] { return std::move(facts); });
  // A vector, whose buffer stays where MPI writes when it is kept.
  std::vector<char> text(static_cast<std::size_t>(f[0] + f[1]));
  if (rank == first) text.assign(mine.begin(), mine.end());
  mpi::collective(
      comm, "MPI_Ibcast",
      [&](MPI_Request* r) { return MPI_Ibcast(text.data(), f[0] + f[1], MPI_CHAR, first, comm, r); },
      [&] { return std::move(text); });
  const std::string all(text.begin(), text.end());
  throw Error(all.substr(0, static_cast<std::size_t>(f[0])), Where{.rank = first},
              all.substr(static_cast<std::size_t>(f[0])), static_cast<ExitCode>(f[2]), f[3]);
}

}  // namespace cir::workers
