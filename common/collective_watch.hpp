// What the stall inspector (launcher/stall_inspector.hpp) sees of this
// process: the collectives of the trial it runs, the one it waits in and
// for how long, where the trial is (epoch, step), and whether it is in a
// long phase that may legitimately keep the other ranks of its group
// waiting. A process runs one trial at a time, so the state is process-wide.
//
// A trial's collectives (workers/mpi_backend.cpp, workers/comm.cpp,
// workers/group_errors.cpp, the launcher's stop check) are non-blocking MPI
// calls: begin_collective() numbers each one, then wait_collective() tests
// it until it completes, or until the inspector abandons the trial: then it
// throws the stall's cir::Error, so that every rank of the group leaves the
// trial and the group can go on. MPI cannot take a started collective back,
// so the buffers of an abandoned one stay alive until the process ends, and
// its communicator is never used again (the launcher gives every trial its
// own). Without an inspector (the collective tests) nothing abandons and a
// wait is a plain wait.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <type_traits>

#include "common/mpi.hpp"

namespace cir::mpi {

// One rank's state as the inspector gathers it (plain bytes over MPI).
struct Snapshot {
  std::int64_t trial = 0;        // trials this process began (begin_trial)
  std::int64_t started = 0;      // collectives it started in that trial
  std::int64_t waiting_for = 0;  // the number of the collective it waits in; 0: none
  std::int64_t waited_ms = 0;    // for how long
  std::int64_t step = -1;        // where the trial is (position())
  std::int32_t epoch = -1;
  std::int32_t left = 0;  // 1 once its run of the trial returned (leave_trial)
  std::int32_t quit = 0;  // for the inspector's own use
  char call[28] = {};     // the MPI call it waits in
  char phase[32] = {};    // the long phase it is in; empty: none
};

// The launcher's side. A new trial: counts start from zero, nothing is
// abandoned.
void begin_trial();
// This process's run of the trial returned.
void leave_trial();
// Fails trial number `trial` (a Snapshot::trial) with `reason`: every wait
// of it throws cir::Error(reason), now and later. No effect once this
// process began another trial; returns whether it took effect.
bool abandon(std::int64_t trial, const std::string& reason);
// Whether the current trial was abandoned.
bool abandoned();
Snapshot snapshot();

// The trainer's side: where the trial is.
void position(std::int32_t epoch, std::int64_t step);

// While alive, this rank is in a phase that may keep the others waiting
// (evaluation on the leader, a checkpoint write, the first epoch's data
// loading): the inspector counts it busy, not missing. `what` must be a
// string literal.
class LongPhase {
 public:
  explicit LongPhase(const char* what);
  ~LongPhase();
  LongPhase(const LongPhase&) = delete;
  LongPhase& operator=(const LongPhase&) = delete;

 private:
  const char* previous_;
};

// The collectives' side. Numbers a collective about to start; throws the
// stall's cir::Error when the trial was abandoned.
std::int64_t begin_collective();

// Waits for the requests of collective `number` (started with `call` on
// `comm`); throws cir::Error when MPI fails or the trial is abandoned.
void wait_requests(std::span<MPI_Request> requests, std::int64_t number, const char* call, MPI_Comm comm);

// Keeps `what` alive until the process ends.
void keep_forever(std::shared_ptr<const void> what);

// wait_requests(), and when it throws, keep() gives what the collective
// reads or writes (tensors, vectors: moved, not copied), which is then kept
// alive for good, since MPI may still write into it.
template <typename Keep>
void wait_collective(std::span<MPI_Request> requests, std::int64_t number, const char* call, MPI_Comm comm,
                     Keep&& keep) {
  try {
    wait_requests(requests, number, call, comm);
  } catch (...) {
    keep_forever(std::make_shared<std::invoke_result_t<Keep>>(keep()));
    throw;
  }
}

// One collective over `comm`: numbers it, starts it with start(&request)
// (an MPI_I… call, its code checked as `call`) and waits for it as
// wait_collective() does.
template <typename Start, typename Keep>
void collective(MPI_Comm comm, const char* call, Start&& start, Keep&& keep) {
  const std::int64_t number = begin_collective();
  MPI_Request request = MPI_REQUEST_NULL;
  check(start(&request), call, comm);
  wait_collective(std::span(&request, 1), number, call, comm, std::forward<Keep>(keep));
}

}  // namespace cir::mpi
