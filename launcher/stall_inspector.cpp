#include "launcher/stall_inspector.hpp"

#include <fmt/format.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/mpi.hpp"
#include "launcher/mpi_wait.hpp"

namespace cir::launcher {

namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// "1 s", "2.5 s": the limits as a user wrote them.
std::string seconds(double s) { return fmt::format("{:g} s", s); }

}  // namespace

StallInspector::StallInspector(MPI_Comm group, std::vector<int> world_ranks, std::vector<std::string> hosts,
                               StallLimits limits, Unrecoverable unrecoverable)
    : limits_(limits),
      unrecoverable_(std::move(unrecoverable)),
      world_ranks_(std::move(world_ranks)),
      hosts_(std::move(hosts)) {
  int size = 1;
  mpi::check(MPI_Comm_size(group, &size), "MPI_Comm_size", group);
  if (size == 1) return;
  mpi::check(MPI_Comm_rank(group, &rank_), "MPI_Comm_rank", group);
  comm_ = OwnedComm::dup(group, "stall inspector");
  thread_ = std::jthread([this] { loop(); });
}

StallInspector::~StallInspector() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    quit_ = true;
  }
  wake_.notify_all();
}

void StallInspector::set_trial(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  trial_ = id;
}

std::string StallInspector::trial() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return trial_;
}

void StallInspector::loop() {
  pthread_setname_np(pthread_self(), "cir-stalls");
  const double shortest = limits_.timeout > 0 ? std::min(limits_.warning, limits_.timeout) : limits_.warning;
  const auto tick = std::chrono::duration<double>(std::clamp(shortest / 4.0, 0.05, 1.0));
  std::vector<mpi::Snapshot> all(hosts_.size());
  try {
    while (true) {
      mpi::Snapshot mine = mpi::snapshot();
      mine.quit = quit_ ? 1 : 0;
      MPI_Request request = MPI_REQUEST_NULL;
      mpi::check(MPI_Iallgather(&mine, sizeof mine, MPI_BYTE, all.data(), sizeof mine, MPI_BYTE, comm_.get(),
                                &request),
                 "MPI_Iallgather", comm_.get());
      wait_politely(request, comm_.get());
      if (std::all_of(all.begin(), all.end(), [](const mpi::Snapshot& s) { return s.quit != 0; })) return;
      inspect(all);
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_for(lock, tick, [this] { return quit_.load(); });
    }
  } catch (const std::exception& e) {
    log::error("stall inspector: {}", e.what());
    MPI_Abort(MPI_COMM_WORLD, static_cast<int>(ExitCode::preempted));
  }
}

std::string StallInspector::rank_name(int r) const {
  return fmt::format("group rank {} (world rank {}, host {})", r,
                     world_ranks_.at(static_cast<std::size_t>(r)), hosts_.at(static_cast<std::size_t>(r)));
}

void StallInspector::inspect(const std::vector<mpi::Snapshot>& all) {
  const int size = static_cast<int>(all.size());
  const auto names = [&](const std::vector<int>& ranks) {
    std::vector<std::string> out;
    for (int r : ranks) out.push_back(rank_name(r));
    return fmt::format("{}", fmt::join(out, "; "));
  };
  // Where a rank that keeps the others waiting is.
  const auto state = [&](const mpi::Snapshot& s, std::int64_t trial) {
    if (s.trial < trial) return std::string("not yet in this trial");
    std::string at = fmt::format("at epoch {}, step {}", s.epoch, s.step);
    if (s.waiting_for > 0) return fmt::format("{}, waiting in {} (collective {})", at, s.call, s.waiting_for);
    if (s.phase[0] != '\0') return fmt::format("{}, in {}", at, s.phase);
    return at + ", outside any collective";
  };

  if (abandoned_trial_ != 0) {
    std::vector<int> stuck;
    for (int r = 0; r < size; ++r)
      if (all[r].trial < abandoned_trial_ || (all[r].trial == abandoned_trial_ && all[r].left == 0))
        stuck.push_back(r);
    if (stuck.empty()) {
      abandoned_trial_ = 0;
      return;
    }
    if (gave_up_ || limits_.timeout <= 0 || steady_seconds() - abandoned_at_ < limits_.timeout) return;
    gave_up_ = true;
    if (rank_ != 0) return;
    std::vector<std::string> where;
    for (int r : stuck)
      where.push_back(fmt::format("{} is {}", rank_name(r), state(all[r], abandoned_trial_)));
    const std::string message = fmt::format(
        "{}: still in the trial sweep.stall_timeout = {} after it failed ({}); MPI cannot take a rank out of "
        "where it is stuck, so the job ends (exit 75): rerun the same command to resume the other trials",
        fmt::join(where, "; "), seconds(limits_.timeout), abandon_reason_);
    log::error("trial {}: {}", trial(), message);
    unrecoverable_(trial(), message);
    return;
  }

  // The rank that has waited longest, and the collective it waits in.
  int longest = -1;
  for (int r = 0; r < size; ++r)
    if (all[r].waiting_for > 0 && (longest < 0 || all[r].waited_ms > all[longest].waited_ms)) longest = r;
  if (longest < 0) return;
  const mpi::Snapshot& w = all[longest];
  // The others: waiting with it, past it (started it, still working or
  // waiting elsewhere), gone (left the trial before starting it), busy (in a
  // long phase) or missing.
  std::vector<int> waiting, working, gone, busy, missing;
  for (int r = 0; r < size; ++r) {
    const mpi::Snapshot& s = all[r];
    const bool here = s.trial == w.trial;
    if (here && s.waiting_for == w.waiting_for)
      waiting.push_back(r);
    else if (here && s.started >= w.waiting_for && s.waiting_for == 0)
      working.push_back(r);
    else if (here && s.started >= w.waiting_for)
      continue;
    else if (here && s.left != 0)
      gone.push_back(r);
    else if (here && s.phase[0] != '\0')
      busy.push_back(r);
    else
      missing.push_back(r);
  }
  const std::string in_call = fmt::format("in {} (collective {} of the trial) at epoch {}, step {}", w.call,
                                          w.waiting_for, w.epoch, w.step);
  if (!gone.empty()) {
    abandon(w.trial,
            fmt::format("{} left the trial while {} waited {}", names(gone), names(waiting), in_call));
    return;
  }
  // A rank in a long phase, or one that started the collective and is still
  // working (MPI completes it at its next call), keeps no one waiting for good.
  if (missing.empty() && !(busy.empty() && working.empty())) return;
  const double waited = static_cast<double>(w.waited_ms) / 1000.0;
  if (waited < limits_.warning && (limits_.timeout <= 0 || waited < limits_.timeout)) return;
  std::string what;
  if (missing.empty()) {
    std::vector<std::string> calls;
    for (int r = 0; r < size; ++r)
      calls.push_back(fmt::format("group rank {} {}", r, state(all[r], w.trial)));
    what = fmt::format(
        "every rank waits, but collective {} does not complete: they called different "
        "collectives ({})",
        w.waiting_for, fmt::join(calls, "; "));
  } else {
    std::vector<std::string> where;
    for (int r : missing) where.push_back(fmt::format("{}, {}", rank_name(r), state(all[r], w.trial)));
    what = fmt::format("{} {} waited {:.0f} s {} for {}", names(waiting),
                       waiting.size() == 1 ? "has" : "have", waited, in_call, fmt::join(where, "; "));
  }
  if (limits_.timeout > 0 && waited >= limits_.timeout) {
    abandon(w.trial, fmt::format("stalled: {}; failed after sweep.stall_timeout = {}", what,
                                 seconds(limits_.timeout)));
    return;
  }
  if (stall_trial_ != w.trial || stall_collective_ != w.waiting_for) {
    stall_trial_ = w.trial;
    stall_collective_ = w.waiting_for;
    logged_ = 0.0;
  }
  if (waited < logged_ + limits_.warning) return;
  logged_ = waited;
  if (rank_ == 0)
    log::warn("trial {}: stall: {} (sweep.stall_warning = {}{})", trial(), what, seconds(limits_.warning),
              limits_.timeout > 0
                  ? fmt::format("; the trial fails after sweep.stall_timeout = {}", seconds(limits_.timeout))
                  : std::string());
}

void StallInspector::abandon(std::int64_t trial_number, const std::string& reason) {
  mpi::abandon(trial_number, reason);
  abandoned_trial_ = trial_number;
  abandoned_at_ = steady_seconds();
  abandon_reason_ = reason;
  gave_up_ = false;
  if (rank_ == 0) log::error("trial {}: failing it on every rank of the group: {}", trial(), reason);
}

}  // namespace cir::launcher
