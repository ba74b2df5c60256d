// The coordinator (docs/architecture.md "The coordinator"): a thread on
// rank 0 that owns the trial queue and the store. It hands the run with the
// most expected work left to the next group leader that asks, commits the
// epoch records leaders send, records how each run ended, and prints one
// progress line per finished epoch and trial. It waits with MPI_Improbe and a
// short sleep, never a busy spin. After a stop signal (its own, or a run that
// came back stopped) it hands out no more work. An I/O fault (a full disk or
// a device error: common/file_io.hpp) under a store commit, under the
// progress output or in a run stops the sweep the same way, and the acks
// tell the running groups to stop after their current epoch; after a
// failed commit it writes nothing more, so the store keeps its last commit.
#pragma once

#include <mpi.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/trial.hpp"
#include "launcher/work_queue.hpp"
#include "store/store.hpp"

namespace cir::launcher {

struct CoordinatorSummary {
  int done = 0, failed = 0, diverged = 0, unfinished = 0;
  bool stopped = false;  // a stop signal, a stopped run or an I/O fault ended the sweep early
  std::string io_fault;  // the first I/O fault, on one line (path and free space); empty when none
};

class Coordinator {
 public:
  // `inbox`: leaders → coordinator; `outbox`: coordinator → leaders (two
  // communicators, so that rank 0's own leader never takes the
  // coordinator's messages). `group_hosts`: the hosts of each group's ranks
  // (hosts_of_groups in launcher/groups.hpp), one entry per leader that will
  // ask for work; a trial's notes name the hosts of the group that ran it.
  // `max_retries` (sweep.max_retries): a trial that fails or diverges
  // starts over as its next attempt (Writer::retry) while it has been
  // retried fewer times than that. `progress`: where the event lines go
  // (null: nowhere); `live`: draw the live view under them
  // (launcher/progress.hpp).
  Coordinator(MPI_Comm inbox, MPI_Comm outbox, store::Writer& writer, const std::vector<TrialSpec>& trials,
              std::vector<std::vector<std::string>> group_hosts, int max_retries, std::FILE* progress,
              bool live);

  // Serves until every group was told there is no more work; flushes the store.
  CoordinatorSummary run();

 private:
  struct Running {
    double started = 0.0;  // steady seconds
    std::int32_t first_epoch = 0, epochs_run = 0;
    std::string last;  // its latest epoch, for the live view
  };

  void handle(int source, int tag, const std::string& text);
  // After this process's stop signal: no more work, and a line that says so.
  void notice_stop();
  void on_request(int source, int group);
  void on_record(int source, const std::string& text);
  void on_result(const std::string& text);
  // The store's row of trial `id`.
  const store::TrialRow& row_of(const std::string& id) const;
  // Commits the store (every change at once when `now`, else coalesced)
  // until a commit fails with an I/O fault, which stops the sweep; other
  // errors propagate.
  void commit(bool now = false);
  // Stops the sweep on an I/O fault; the first one is the sweep's.
  void io_fault(const std::string& message);
  // A group cannot go on (launcher/stall_inspector.hpp): records its trial
  // failed, flushes the store and ends the job with 75.
  void on_fatal(const std::string& text);
  // Prints one event line. In live mode a live view follows the events:
  // one line per running trial (epoch, loss, R@10, ETA) and the sweep's total.
  void line(const std::string& text);
  void draw_live_view();
  std::string describe(const TrialSpec& trial) const;
  std::string sweep_status() const;

  MPI_Comm inbox_, outbox_;
  store::Writer& writer_;
  const std::vector<TrialSpec>& trials_;
  std::vector<std::int32_t> epochs_;  // train.epochs of each trial
  std::vector<Running> running_;
  std::vector<std::vector<std::string>> group_hosts_;
  int groups_, released_groups_ = 0;
  int max_retries_;
  bool stopping_ = false;
  std::string io_fault_;       // the first I/O fault
  bool store_failed_ = false;  // a commit failed: the store keeps the one before
  std::FILE* progress_;
  bool live_ = false;             // draw the live view (launcher/progress.hpp)
  int live_lines_ = 0;            // lines of the live view on screen
  std::set<std::size_t> active_;  // trials running now
  double start_ = 0.0;
  double total_cost_ = 0.0, cost_done_before_ = 0.0, cost_done_now_ = 0.0;
  WorkQueue queue_;
  std::map<std::string, std::size_t> index_of_;
};

}  // namespace cir::launcher
