#include "common/mpi.hpp"

#include <fmt/format.h>

#include "common/error.hpp"

namespace cir::mpi {

void adopt(MPI_Comm comm, const std::string& name) {
  check(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler", comm);
  check(MPI_Comm_set_name(comm, name.c_str()), "MPI_Comm_set_name", comm);
}

void check(int rc, const char* call, MPI_Comm comm) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
  std::string place;
  if (comm != MPI_COMM_NULL) {
    char name[MPI_MAX_OBJECT_NAME];
    int name_length = 0, rank = -1, size = 0;
    MPI_Comm_get_name(comm, name, &name_length);
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    place = fmt::format(" on the communicator '{}' (this process is its rank {} of {})",
                        std::string(name, static_cast<std::size_t>(name_length)), rank, size);
  }
  int world_rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  throw Error(fmt::format("{} failed{}: {}", call, place,
                          length > 0 ? std::string(text, static_cast<std::size_t>(length))
                                     : fmt::format("MPI error code {}", rc)),
              Where{.rank = world_rank},
              "the store holds every committed epoch: rerun the same command to resume; an error that "
              "comes back at the same place is a bug in cir or the MPI library (report it with this message)",
              ExitCode::preempted);
}

}  // namespace cir::mpi
