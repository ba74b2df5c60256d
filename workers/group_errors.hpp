// Errors that happen on one rank of a group (an unreadable image in its
// slice of the batch) must end the trial on every rank, or the others wait
// forever in the next collective. agreed() runs a piece of work on every
// rank and then lets the group agree: if it threw anywhere, it throws on
// every rank, with the message of the lowest failing rank.
#pragma once

#include <mpi.h>

#include <exception>
#include <optional>
#include <string>
#include <utility>

namespace cir::workers {

// Collective over `comm`: throws cir::Error on every rank when `error` is
// set on any rank (the lowest such rank's message, naming that rank).
void agree_on_errors(MPI_Comm comm, const std::optional<std::string>& error);

template <typename F>
auto agreed(MPI_Comm comm, F&& work) -> decltype(work()) {
  std::optional<decltype(work())> result;
  std::optional<std::string> error;
  try {
    result.emplace(std::forward<F>(work)());
  } catch (const std::exception& e) {
    error = e.what();
  }
  agree_on_errors(comm, error);
  return std::move(*result);
}

}  // namespace cir::workers
