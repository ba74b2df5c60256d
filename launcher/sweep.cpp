#include "launcher/sweep.hpp"

#include <mpi.h>

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/collective_watch.hpp"
#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/file_io.hpp"
#include "common/keys.hpp"
#include "common/log.hpp"
#include "common/mpi.hpp"
#include "common/signals.hpp"
#include "launcher/coordinator.hpp"
#include "launcher/expand.hpp"
#include "launcher/groups.hpp"
#include "launcher/mpi_wait.hpp"
#include "launcher/owned_comm.hpp"
#include "launcher/preflight.hpp"
#include "launcher/progress.hpp"
#include "launcher/protocol.hpp"
#include "launcher/receipt.hpp"
#include "launcher/spec.hpp"
#include "launcher/stall_inspector.hpp"
#include "store/store.hpp"

namespace cir::launcher {

namespace {

namespace fs = std::filesystem;

constexpr int kCoordinatorRank = 0;

}  // namespace

SweepSpec load_spec(const SweepOptions& options) {
  SweepSpec spec = load_spec(options.spec, options.sets);
  if (options.store) spec.store = *options.store;
  return spec;
}

store::SweepHeader sweep_header(const SweepSpec& spec) {
  store::SweepHeader header;
  header.sweep = spec.name;
  header.spec_text = resolved_text(spec);
  header.spec_digest = sha256_hex(header.spec_text);
  header.cir_version = CIR_VERSION;
  return header;
}

int count_requeue(const SweepOptions& options, const std::string& cause) {
  try {
    if (cause != "timeout" && cause != "preemption") {
      throw Error("--count-requeue takes 'timeout' or 'preemption', not '" + cause + "'");
    }
    SweepSpec spec = load_spec(options);
    store::Writer writer = store::Writer::open(spec.store, sweep_header(spec),
                                               store::OpenOptions{.force_new_spec = options.force_new_spec});
    const bool timeout = cause == "timeout";
    const std::int64_t count = writer.count_requeue(timeout);
    writer.flush();
    if (timeout && count > spec.max_requeues) {
      log::warn("sweep {}: timeout {} exceeds sweep.max_requeues = {}; not requeueing", spec.name, count,
                spec.max_requeues);
      return 1;
    }
    log::info("sweep {}: {} {}{}; requeue allowed", spec.name, cause, count,
              timeout ? fmt::format(" of at most {}", spec.max_requeues) : std::string());
    return 0;
  } catch (const Error& e) {
    log::error("{}", e.what());
    return static_cast<int>(e.code());
  }
}

namespace {

// --retry-failed: the failed and diverged trials of the spec start over as
// their next attempt.
void retry_failed(store::Writer& writer, const std::vector<TrialSpec>& trials) {
  std::set<std::string> in_spec;
  for (const TrialSpec& trial : trials) in_spec.insert(trial.id);
  std::vector<std::string> retried;
  for (const store::TrialRow& row : writer.trials()) {
    if (in_spec.count(row.spec.id) != 0 &&
        (row.status == TrialStatus::failed || row.status == TrialStatus::diverged))
      retried.push_back(row.spec.id);
  }
  for (const std::string& id : retried) writer.retry(id);
  log::info("--retry-failed: {} failed or diverged trial(s) run again", retried.size());
}

// The first line of the MPI library's version text.
std::string mpi_library() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  mpi::check(MPI_Get_library_version(text, &length), "MPI_Get_library_version");
  std::string line(text, static_cast<std::size_t>(length));
  line = line.substr(0, line.find_first_of("\r\n,"));
  return line;
}

// Rank 0: the spec, its trials and the store (with this run's receipt).
// Errors become the setup's code.
SetupMessage prepare(const SweepOptions& options, int world_size, const InputCheck& check_inputs,
                     std::optional<store::Writer>& writer) {
  SetupMessage setup;
  try {
    SweepSpec spec = load_spec(options);
    setup.trials = expand(spec);
    setup.ranks_per_trial = spec.ranks_per_trial;
    setup.max_retries = spec.max_retries;
    setup.stall_warning = spec.stall_warning;
    setup.stall_timeout = spec.stall_timeout;
    if (world_size < spec.ranks_per_trial)
      throw Error(fmt::format("{} rank(s) cannot form a group of sweep.ranks_per_trial = {}", world_size,
                              spec.ranks_per_trial),
                  spec.sweep_where.at(keys::sweep::ranks_per_trial.name),
                  fmt::format("run with mpirun -n {} (or a multiple), or lower ranks_per_trial",
                              spec.ranks_per_trial));
    setup.checkpoint_root = checkpoint_root(spec).string();
    if (stop_signalled()) {
      log::warn(
          "stop signal {} before the sweep started: the store is as it was; rerun the same command to "
          "start",
          stop_signal());
      setup.code = static_cast<int>(ExitCode::preempted);
      return setup;
    }
    preflight(spec, options.store ? Where{.file = "--store"} : spec.sweep_where.at(keys::sweep::store.name),
              setup.trials, check_inputs);
    writer.emplace(store::Writer::open(spec.store, sweep_header(spec),
                                       store::OpenOptions{.force_new_spec = options.force_new_spec}));
    writer->add_trials(setup.trials);
    if (options.retry_failed) retry_failed(*writer, setup.trials);
    writer->add_run(run_receipt(
        setup.trials, world_size, mpi_library(),
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()));
    writer->flush();
    log::info("sweep {}: {} trials, store {}", spec.name, setup.trials.size(), spec.store.string());
  } catch (const Error& e) {
    if (e.code() == ExitCode::io_fault)
      log::error("{}; free space or fix the device, then rerun the same command",
                 format_error(e.message(), e.where(), {}));
    else
      log::error("{}", e.what());
    setup.code = static_cast<int>(e.code());
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    setup.code = static_cast<int>(ExitCode::usage);
  }
  return setup;
}

// Worst last: a run that hit an I/O fault on any rank stays resumable.
enum Outcome : int { kDone = 0, kStopped = 1, kDiverged = 2, kFailed = 3, kIoFault = 4 };

int outcome_code(TrialResult::Outcome o) {
  switch (o) {
    case TrialResult::Outcome::done:
      return kDone;
    case TrialResult::Outcome::stopped:
      return kStopped;
    case TrialResult::Outcome::diverged:
      return kDiverged;
    case TrialResult::Outcome::failed:
      return kFailed;
    case TrialResult::Outcome::io_fault:
      return kIoFault;
  }
  return kFailed;
}

// Every rank of the group agrees on how the run ended: the worst outcome of
// any rank, with that rank's epoch and message. Among failures, a rank's
// own error comes before the stall inspector's message (`stalled`: this
// rank's run ended because the inspector abandoned the trial), so that a
// rank that threw names the cause.
TrialResult agree(const TrialResult& mine, bool stalled, const GroupLayout& layout) {
  if (layout.group_size == 1) return mine;
  struct {
    int code, rank;
  } local{2 * outcome_code(mine.outcome) + (stalled ? 0 : 1), layout.group_rank}, worst{};
  MPI_Request request = MPI_REQUEST_NULL;
  mpi::check(MPI_Iallreduce(&local, &worst, 1, MPI_2INT, MPI_MAXLOC, layout.comm.get(), &request),
             "MPI_Iallreduce", layout.comm.get());
  wait_politely(request, layout.comm.get());
  std::string text = encode(mine);
  broadcast_text(layout.comm.get(), worst.rank, text);
  TrialResult result = decode<TrialResult>(text);
  if (worst.rank != 0 && !result.message.empty())
    result.message = fmt::format("on group rank {}: {}", worst.rank, result.message);
  return result;
}

// Whether any rank of the group stops (`mine`: this one does): a collective
// of the trial over `comm` (watched like the trainer's:
// common/collective_watch.hpp).
bool stop_requested(MPI_Comm comm, int group_size, bool mine) {
  auto flags = std::make_unique<std::array<int, 2>>(std::array<int, 2>{mine ? 1 : 0, 0});
  if (group_size == 1) return (*flags)[0] != 0;
  auto& f = *flags;
  mpi::collective(
      comm, "MPI_Iallreduce",
      [&](MPI_Request* r) { return MPI_Iallreduce(&f[0], &f[1], 1, MPI_INT, MPI_MAX, comm, r); },
      [&] { return std::move(flags); });
  return f[1] != 0;
}

// A group's life: ask for a trial, run it on every rank, report, repeat.
// Each trial gets its own duplicate of the group's communicator: when the
// stall inspector abandons a trial, its collectives stay pending on that
// one, which is then never used or freed again.
void serve_group(const GroupLayout& layout, const SetupMessage& setup, TrialRunner& runner, MPI_Comm inbox,
                 MPI_Comm outbox, StallInspector& inspector) {
  const bool leader = layout.group_rank == 0;
  while (true) {
    std::string assignment;
    if (leader) {
      send_text(inbox, kCoordinatorRank, kRequest, encode(RequestMessage{.group = layout.group}));
      int tag = 0;
      assignment = receive_text(outbox, kCoordinatorRank, MPI_ANY_TAG, &tag);
      if (tag == kNoMoreWork) assignment.clear();
    }
    if (layout.group_size > 1) broadcast_text(layout.comm.get(), 0, assignment);
    if (assignment.empty()) return;

    const auto assigned = decode<AssignMessage>(assignment);
    const TrialSpec& trial = setup.trials.at(static_cast<std::size_t>(assigned.trial));
    OwnedComm work =
        OwnedComm::dup(layout.comm.get(), fmt::format("group {}, trial {}", layout.group, trial.id));
    TrialContext context;
    context.trial = &trial;
    context.resume_from = assigned.resume_from;
    // Each attempt starts from nothing: a retry gets a folder of its own.
    const std::string folder =
        assigned.attempt == 0 ? trial.id : fmt::format("{}-retry{}", trial.id, assigned.attempt);
    context.checkpoint_dir = (fs::path(setup.checkpoint_root) / folder).string() + "/";
    context.group_rank = layout.group_rank;
    context.group_size = layout.group_size;
    context.local_rank = layout.local_rank;
    context.local_size = layout.local_size;
    context.group_comm_f = static_cast<int>(MPI_Comm_c2f(work.get()));
    // Set when the coordinator's ack says that the sweep is stopping.
    bool stop_asked = false;
    if (leader) {
      context.report = [&](const EpochRecord& record) {
        const mpi::LongPhase phase("report to the coordinator");
        EpochRecord stamped = record;
        stamped.trial_id = trial.id;
        send_text(inbox, kCoordinatorRank, kRecord, encode(stamped));
        const auto ack = decode<AckMessage>(receive_text(outbox, kCoordinatorRank, kAck));
        if (ack.trial_id != trial.id || ack.epoch != record.epoch)
          throw std::logic_error(
              fmt::format("the coordinator acknowledged epoch {} of trial {}, not epoch {} of {}", ack.epoch,
                          ack.trial_id, record.epoch, trial.id));
        stop_asked = stop_asked || ack.stop;
      };
    } else {
      context.report = [](const EpochRecord&) {};
    }
    context.stop_requested = [comm = work.get(), size = layout.group_size, &stop_asked] {
      return stop_requested(comm, size, stop_signalled() || stop_asked);
    };

    mpi::begin_trial();
    inspector.set_trial(trial.id);
    TrialResult result;
    try {
      result = runner.run(context);
    } catch (const std::exception& e) {
      result = thrown_result(e, -1);
    }
    const bool stalled = mpi::abandoned();
    mpi::leave_trial();
    if (stalled) work.release();
    result = agree(result, stalled, layout);
    if (leader) {
      ResultMessage message{.trial_id = trial.id, .result = result, .group = layout.group};
      send_text(inbox, kCoordinatorRank, kResult, encode(message));
    }
  }
}

// Rank 0 writes the exit code every rank agreed on to the file that
// CIR_EXIT_FILE names, where it is set: slurm/run-sweep reads it there, as
// mpirun exits 1 after a SIGTERM of its own whatever the ranks said.
void record_exit_code(int code) {
  const char* path = std::getenv("CIR_EXIT_FILE");
  if (path == nullptr || *path == '\0') return;
  try {
    const std::string text = std::to_string(code) + "\n";
    replace_file(path, {text});
  } catch (const Error& e) {
    log::warn("{}", e.what());
  }
}

int finalize_mpi(int rank, int code) {
  if (rank == 0) record_exit_code(code);
  MPI_Finalize();
  return code;
}

// Ends the job on every rank after `e`: once the groups and the coordinator
// run, the other ranks would wait forever for a rank that stopped. An MPI
// error (common/mpi.hpp) ends it with 75: every committed epoch is in the
// store, and a rerun resumes.
void abort_world(const std::string& who, const std::exception& e) {
  log::error("{}: {}", who, e.what());
  const auto* error = dynamic_cast<const Error*>(&e);
  MPI_Abort(MPI_COMM_WORLD, error != nullptr ? static_cast<int>(error->code()) : 1);
}

// The sweep after the setup, on every rank: the groups, rank 0's coordinator
// thread, and the exit code every rank agrees on. The communicators are freed
// and the thread joined on the way out, before MPI_Finalize. An error while
// the coordinator runs aborts the job rather than unwinding: rank 0 would
// wait forever to join a coordinator that waits for its group.
int sweep_on_groups(const SetupMessage& setup, std::optional<store::Writer>& writer,
                    const RunnerFactory& factory, Progress progress) {
  int rank = 0, size = 1;
  mpi::check(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
  mpi::check(MPI_Comm_size(MPI_COMM_WORLD, &size), "MPI_Comm_size");
  const GroupLayout layout = make_groups(MPI_COMM_WORLD, setup.ranks_per_trial);
  if (rank == 0) {
    const int idle =
        static_cast<int>(std::count(layout.group_of_rank.begin(), layout.group_of_rank.end(), -1));
    log::info("{} rank(s): {} group(s) of {}{}", size, layout.groups, setup.ranks_per_trial,
              idle > 0 ? fmt::format(", {} idle (not enough for another group)", idle) : "");
  }
  const OwnedComm inbox = OwnedComm::dup(MPI_COMM_WORLD, "inbox");
  const OwnedComm outbox = OwnedComm::dup(MPI_COMM_WORLD, "outbox");

  std::optional<CoordinatorSummary> summary;
  std::jthread coordinator;
  if (rank == 0) {
    coordinator = std::jthread([&] {
      try {
        const Progress shown = resolve_progress(progress, stdout);
        Coordinator c(inbox.get(), outbox.get(), *writer, setup.trials, hosts_of_groups(layout),
                      setup.max_retries, shown == Progress::none ? nullptr : stdout, shown == Progress::live);
        summary = c.run();
      } catch (const std::exception& e) {
        abort_world("coordinator", e);
      }
    });
  }

  if (layout.group >= 0) {
    // Outside the try: an error aborts the job before the inspector's
    // collective end would wait for the other ranks.
    std::vector<int> world_ranks;
    std::vector<std::string> hosts;
    for (int r = 0; r < size; ++r)
      if (layout.group_of_rank[static_cast<std::size_t>(r)] == layout.group) {
        world_ranks.push_back(r);
        hosts.push_back(layout.host_of_rank[static_cast<std::size_t>(r)]);
      }
    StallInspector inspector(
        layout.comm.get(), std::move(world_ranks), std::move(hosts),
        StallLimits{.warning = setup.stall_warning, .timeout = setup.stall_timeout},
        [&](const std::string& trial, const std::string& message) {
          const ResultMessage fatal{
              .trial_id = trial,
              .result = {.outcome = TrialResult::Outcome::failed, .epoch = -1, .message = message},
              .group = layout.group};
          send_text(inbox.get(), kCoordinatorRank, kFatal, encode(fatal));
        });
    try {
      std::unique_ptr<TrialRunner> runner = factory();
      serve_group(layout, setup, *runner, inbox.get(), outbox.get(), inspector);
    } catch (const std::exception& e) {
      abort_world(fmt::format("group {}", layout.group), e);
    }
  }

  int code = 0;
  if (rank == 0) {
    coordinator.join();
    writer.reset();
    if (!summary->io_fault.empty())
      code = static_cast<int>(ExitCode::io_fault);
    else if (summary->unfinished > 0)
      code = static_cast<int>(ExitCode::preempted);
    else if (summary->failed > 0 || summary->diverged > 0)
      code = static_cast<int>(ExitCode::trials_failed);
    if (code == static_cast<int>(ExitCode::io_fault))
      log::error(
          "{}: the sweep stopped with {} trial(s) unfinished; free space or fix the device, then rerun "
          "the same command to resume",
          summary->io_fault, summary->unfinished);
    else if (code == static_cast<int>(ExitCode::preempted))
      log::warn("stopped with {} trial(s) unfinished: rerun the same command to resume", summary->unfinished);
    else if (code == static_cast<int>(ExitCode::trials_failed))
      log::warn("{} trial(s) failed and {} diverged: their errors are in the store", summary->failed,
                summary->diverged);
  }
  std::string agreed = std::to_string(code);
  broadcast_text(MPI_COMM_WORLD, 0, agreed);
  return std::stoi(agreed);
}

}  // namespace

int run_sweep(const SweepOptions& options, const RunnerFactory& factory, const InputCheck& check_inputs) {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, size = 1;
  try {
    mpi::adopt(MPI_COMM_WORLD, "world");
    mpi::check(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
    mpi::check(MPI_Comm_size(MPI_COMM_WORLD, &size), "MPI_Comm_size");
  } catch (const Error& e) {
    abort_world("MPI", e);
  }
  if (size > 1) log::set_rank(rank);
  if (provided < MPI_THREAD_MULTIPLE) {
    if (rank == 0)
      log::error("this MPI library does not provide MPI_THREAD_MULTIPLE, which the coordinator thread needs");
    return finalize_mpi(rank, static_cast<int>(ExitCode::usage));
  }

  std::optional<store::Writer> writer;
  SetupMessage setup;
  std::string text;
  if (rank == 0) {
    setup = prepare(options, size, check_inputs, writer);
    text = encode(setup);
  }
  try {
    broadcast_text(MPI_COMM_WORLD, 0, text);
    if (rank != 0) setup = decode<SetupMessage>(text);
    if (setup.code != 0) return finalize_mpi(rank, setup.code);
    return finalize_mpi(rank, sweep_on_groups(setup, writer, factory, options.progress));
  } catch (const std::exception& e) {
    abort_world(fmt::format("rank {}", rank), e);
  }
  return finalize_mpi(rank, static_cast<int>(ExitCode::preempted));
}

}  // namespace cir::launcher
