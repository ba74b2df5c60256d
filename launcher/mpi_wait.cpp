#include "launcher/mpi_wait.hpp"

#include <chrono>
#include <thread>

#include "common/mpi.hpp"

namespace cir::launcher {

namespace {
constexpr auto kPause = std::chrono::microseconds(500);
}

void wait_politely(MPI_Request& request, MPI_Comm comm, MPI_Status* status) {
  int done = 0;
  mpi::check(MPI_Test(&request, &done, status), "MPI_Test", comm);
  while (!done) {
    std::this_thread::sleep_for(kPause);
    mpi::check(MPI_Test(&request, &done, status), "MPI_Test", comm);
  }
}

std::string receive_text(MPI_Comm comm, int source, int tag, int* tag_out) {
  MPI_Message message;
  MPI_Status status;
  int found = 0;
  mpi::check(MPI_Improbe(source, tag, comm, &found, &message, &status), "MPI_Improbe", comm);
  while (!found) {
    std::this_thread::sleep_for(kPause);
    mpi::check(MPI_Improbe(source, tag, comm, &found, &message, &status), "MPI_Improbe", comm);
  }
  int count = 0;
  mpi::check(MPI_Get_count(&status, MPI_CHAR, &count), "MPI_Get_count", comm);
  std::string text(static_cast<std::size_t>(count), '\0');
  mpi::check(MPI_Mrecv(text.data(), count, MPI_CHAR, &message, MPI_STATUS_IGNORE), "MPI_Mrecv", comm);
  if (tag_out != nullptr) *tag_out = status.MPI_TAG;
  return text;
}

void broadcast_text(MPI_Comm comm, int root, std::string& text) {
  long long size = static_cast<long long>(text.size());
  MPI_Request request;
  mpi::check(MPI_Ibcast(&size, 1, MPI_LONG_LONG, root, comm, &request), "MPI_Ibcast", comm);
  wait_politely(request, comm);
  text.resize(static_cast<std::size_t>(size));
  mpi::check(MPI_Ibcast(text.data(), static_cast<int>(size), MPI_CHAR, root, comm, &request), "MPI_Ibcast",
             comm);
  wait_politely(request, comm);
}

void send_text(MPI_Comm comm, int dest, int tag, const std::string& text) {
  mpi::check(MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, dest, tag, comm), "MPI_Send",
             comm);
}

void polite_barrier(MPI_Comm comm) {
  MPI_Request request;
  mpi::check(MPI_Ibarrier(comm, &request), "MPI_Ibarrier", comm);
  wait_politely(request, comm);
}

}  // namespace cir::launcher
