// Errors that happen on one rank of a group (an unreadable image in its
// slice of the batch, a full disk under the leader's checkpoint) must end
// the trial on every rank, or the others wait forever in the next
// collective. agreed() runs a piece of work on every rank and then lets the
// group agree: if it threw anywhere, it throws on every rank, with the
// message, exit code and errno of the lowest failing rank.
#pragma once

#include <mpi.h>

#include <exception>
#include <optional>
#include <utility>

#include "common/error.hpp"

namespace cir::workers {

// Collective over `comm`: throws cir::Error on every rank when `error` is
// set on any rank (the lowest such rank's message, naming that rank, with
// its exit code and errno, so that a full disk stays an I/O fault
// everywhere).
void agree_on_errors(MPI_Comm comm, const std::optional<Error>& error);

template <typename F>
auto agreed(MPI_Comm comm, F&& work) -> decltype(work()) {
  std::optional<decltype(work())> result;
  std::optional<Error> error;
  try {
    result.emplace(std::forward<F>(work)());
  } catch (const Error& e) {
    error.emplace(e);
  } catch (const std::exception& e) {
    error.emplace(e.what());
  }
  agree_on_errors(comm, error);
  return std::move(*result);
}

}  // namespace cir::workers
