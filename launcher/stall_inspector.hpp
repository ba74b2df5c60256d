// The stall inspector (docs/architecture.md "Stalls"): a thread on every
// rank of a group of two or more that, every quarter of the shorter of
// sweep.stall_warning and sweep.stall_timeout (and at least once a second),
// gathers every rank's collective state (common/collective_watch.hpp) over
// the group's own duplicate communicator. Every rank judges the same
// gathered states the same way, so the group decides as one, without
// further messages:
//   - a rank left the trial (its run returned or threw) while others wait
//     in a collective it never started: the trial is abandoned at once;
//   - ranks wait in a collective that others have not started (and are not
//     in a long phase) for sweep.stall_warning seconds: the group leader
//     logs who waits in what (call, epoch, step) and who is missing (group
//     rank, world rank, host), again every stall_warning seconds; after
//     sweep.stall_timeout seconds (0: never) the trial is abandoned: every
//     rank's wait throws the stall's message, the trial fails with it and
//     the group goes on with its next trial;
//   - a rank still in an abandoned trial stall_timeout seconds later is
//     stuck where MPI cannot reach it: the leader calls `unrecoverable`
//     (the launcher then records the failure and ends the job with 75).
#pragma once

#include <mpi.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/collective_watch.hpp"
#include "launcher/owned_comm.hpp"

namespace cir::launcher {

struct StallLimits {
  double warning = 0.0;  // seconds (sweep.stall_warning)
  double timeout = 0.0;  // seconds; 0: never (sweep.stall_timeout)
};

class StallInspector {
 public:
  // Called on the group leader when a rank cannot be brought out of an
  // abandoned trial: the trial's id and the message to fail it with.
  using Unrecoverable = std::function<void(const std::string& trial, const std::string& message)>;

  // Collective over `group` (a duplicate for its own use). `world_ranks[r]`
  // and `hosts[r]`: the world rank and host of group rank r. A group of one
  // rank has nothing to inspect: no thread, no communicator.
  StallInspector(MPI_Comm group, std::vector<int> world_ranks, std::vector<std::string> hosts,
                 StallLimits limits, Unrecoverable unrecoverable);
  // Stops the thread once every rank of the group is here (its last
  // gathering is collective).
  ~StallInspector();
  StallInspector(const StallInspector&) = delete;
  StallInspector& operator=(const StallInspector&) = delete;

  // The trial this rank's group runs now, for the messages.
  void set_trial(const std::string& id);

 private:
  void loop();
  void inspect(const std::vector<mpi::Snapshot>& all);
  // Fails trial `number` on this rank (every rank decides the same).
  void abandon(std::int64_t number, const std::string& reason);
  std::string rank_name(int r) const;
  std::string trial() const;

  StallLimits limits_;
  Unrecoverable unrecoverable_;
  std::vector<int> world_ranks_;
  std::vector<std::string> hosts_;
  int rank_ = 0;
  OwnedComm comm_;
  mutable std::mutex mutex_;  // guards trial_; wake_ waits on it
  std::condition_variable wake_;
  std::string trial_;
  std::atomic<bool> quit_{false};
  // The thread's own: the stall being watched (trial, collective) and the
  // wait at which it was last logged (seconds); the trial abandoned, when
  // (steady seconds) and why; whether the leader gave up on it.
  std::int64_t stall_trial_ = 0, stall_collective_ = 0;
  double logged_ = 0.0;
  std::int64_t abandoned_trial_ = 0;
  double abandoned_at_ = 0.0;
  std::string abandon_reason_;
  bool gave_up_ = false;
  std::jthread thread_;
};

}  // namespace cir::launcher
