#include "launcher/mpi_wait.hpp"

#include <chrono>
#include <thread>

namespace cir::launcher {

namespace {
constexpr auto kPause = std::chrono::microseconds(500);
}

void wait_politely(MPI_Request& request, MPI_Status* status) {
  int done = 0;
  MPI_Test(&request, &done, status);
  while (!done) {
    std::this_thread::sleep_for(kPause);
    MPI_Test(&request, &done, status);
  }
}

std::string receive_text(MPI_Comm comm, int source, int tag, int* tag_out) {
  MPI_Message message;
  MPI_Status status;
  int found = 0;
  MPI_Improbe(source, tag, comm, &found, &message, &status);
  while (!found) {
    std::this_thread::sleep_for(kPause);
    MPI_Improbe(source, tag, comm, &found, &message, &status);
  }
  int count = 0;
  MPI_Get_count(&status, MPI_CHAR, &count);
  std::string text(static_cast<std::size_t>(count), '\0');
  MPI_Mrecv(text.data(), count, MPI_CHAR, &message, MPI_STATUS_IGNORE);
  if (tag_out != nullptr) *tag_out = status.MPI_TAG;
  return text;
}

void broadcast_text(MPI_Comm comm, int root, std::string& text) {
  long long size = static_cast<long long>(text.size());
  MPI_Request request;
  MPI_Ibcast(&size, 1, MPI_LONG_LONG, root, comm, &request);
  wait_politely(request);
  text.resize(static_cast<std::size_t>(size));
  MPI_Ibcast(text.data(), static_cast<int>(size), MPI_CHAR, root, comm, &request);
  wait_politely(request);
}

void send_text(MPI_Comm comm, int dest, int tag, const std::string& text) {
  MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, dest, tag, comm);
}

void polite_barrier(MPI_Comm comm) {
  MPI_Request request;
  MPI_Ibarrier(comm, &request);
  wait_politely(request);
}

}  // namespace cir::launcher
