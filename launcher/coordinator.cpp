#include "launcher/coordinator.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <pthread.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/checked_cast.hpp"
#include "common/error.hpp"
#include "common/file_io.hpp"
#include "common/log.hpp"
#include "common/mpi.hpp"
#include "common/params.hpp"
#include "common/signals.hpp"
#include "launcher/protocol.hpp"

namespace cir::launcher {

namespace {

using nlohmann::json;

constexpr auto kPause = std::chrono::milliseconds(2);

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU time of the calling thread.
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

std::string duration(double seconds) {
  if (!(seconds >= 0.0) || seconds > 1e8) return "?";
  if (seconds < 10) return fmt::format("{:.1f}s", seconds);
  const auto s = static_cast<long long>(seconds + 0.5);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

// The Slurm job of this run, for a trial's notes (null outside Slurm).
json slurm_notes() {
  json slurm = json::object();
  for (const auto& [env, key] :
       {std::pair{"SLURM_JOB_ID", "job_id"}, std::pair{"SLURM_RESTART_COUNT", "restart_count"},
        std::pair{"SLURM_JOB_NODELIST", "job_nodelist"}}) {
    if (const char* value = std::getenv(env)) slurm[key] = value;
  }
  return slurm.empty() ? json() : slurm;
}

double mean_recall_at(const EpochRecord& record, int k) {
  double sum = 0.0;
  int n = 0;
  for (const auto& r : record.recalls)
    if (r.k == k) sum += r.value, ++n;
  return n > 0 ? sum / n : -1.0;
}

}  // namespace

Coordinator::Coordinator(MPI_Comm inbox, MPI_Comm outbox, store::Writer& writer,
                         const std::vector<TrialSpec>& trials,
                         std::vector<std::vector<std::string>> group_hosts, int max_retries,
                         std::FILE* progress, bool live)
    : inbox_(inbox),
      outbox_(outbox),
      writer_(writer),
      trials_(trials),
      epochs_(trials.size(), 1),
      running_(trials.size()),
      group_hosts_(std::move(group_hosts)),
      groups_(static_cast<int>(group_hosts_.size())),
      max_retries_(max_retries),
      progress_(progress),
      live_(progress != nullptr && live) {
  std::map<std::string, const store::TrialRow*> rows;
  for (const auto& row : writer_.trials()) rows[row.spec.id] = &row;
  for (std::size_t i = 0; i < trials_.size(); ++i) {
    const TrialSpec& trial = trials_[i];
    index_of_[trial.id] = i;
    const Params params(trial.params_json, trial.id);
    epochs_[i] =
        checked_cast<std::int32_t>(params.get(keys::train::epochs), params.where(keys::train::epochs));
    total_cost_ += trial.expected_cost;
    const store::TrialRow* row = rows.count(trial.id) ? rows[trial.id] : nullptr;
    const bool finished =
        row != nullptr && (row->status == TrialStatus::done || row->status == TrialStatus::failed ||
                           row->status == TrialStatus::diverged);
    const std::int32_t committed = row != nullptr ? std::min(row->epochs_done, epochs_[i]) : 0;
    if (finished) {
      cost_done_before_ += trial.expected_cost;
      continue;
    }
    cost_done_before_ += trial.expected_cost * committed / epochs_[i];
    queue_.push(trial, i, committed, epochs_[i]);
  }
}

CoordinatorSummary Coordinator::run() {
  pthread_setname_np(pthread_self(), "cir-coordinator");
  start_ = steady_seconds();
  const double cpu_start = thread_cpu_seconds();
  line(fmt::format("sweep: {} trials, {} to run, {} group(s)", trials_.size(), queue_.size(), groups_));
  while (released_groups_ < groups_) {
    int found = 0;
    MPI_Message message;
    MPI_Status status;
    mpi::check(MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, inbox_, &found, &message, &status), "MPI_Improbe",
               inbox_);
    if (!found) {
      notice_stop();
      commit();
      std::this_thread::sleep_for(kPause);
      continue;
    }
    int count = 0;
    mpi::check(MPI_Get_count(&status, MPI_CHAR, &count), "MPI_Get_count", inbox_);
    std::string text(static_cast<std::size_t>(count), '\0');
    mpi::check(MPI_Mrecv(text.data(), count, MPI_CHAR, &message, MPI_STATUS_IGNORE), "MPI_Mrecv", inbox_);
    handle(status.MPI_SOURCE, status.MPI_TAG, text);
  }
  commit(true);

  CoordinatorSummary summary;
  summary.stopped = stopping_;
  summary.io_fault = io_fault_;
  for (const auto& row : writer_.trials()) {
    if (!index_of_.count(row.spec.id)) continue;
    switch (row.status) {
      case TrialStatus::done:
        ++summary.done;
        break;
      case TrialStatus::failed:
        ++summary.failed;
        break;
      case TrialStatus::diverged:
        ++summary.diverged;
        break;
      default:
        ++summary.unfinished;
    }
  }
  live_ = false;
  const double wall = steady_seconds() - start_;
  const double cpu = thread_cpu_seconds() - cpu_start;
  line(
      fmt::format("sweep: {} done, {} failed, {} diverged, {} unfinished in {}; coordinator CPU {:.3f} s "
                  "({:.2f}% of a core)",
                  summary.done, summary.failed, summary.diverged, summary.unfinished, duration(wall), cpu,
                  wall > 0 ? 100.0 * cpu / wall : 0.0));
  return summary;
}

void Coordinator::handle(int source, int tag, const std::string& text) {
  switch (tag) {
    case kRequest:
      on_request(source, decode<RequestMessage>(text).group);
      return;
    case kRecord:
      on_record(source, text);
      return;
    case kResult:
      on_result(text);
      return;
    case kFatal:
      on_fatal(text);
      return;
    default:
      throw Error(fmt::format("unexpected message tag {} from rank {}", tag, source), Where{.rank = source});
  }
}

void Coordinator::notice_stop() {
  if (!stop_signalled() || stopping_) return;
  stopping_ = true;
  line(fmt::format("stop signal {}: groups stop at their next step, then the sweep exits 75", stop_signal()));
}

void Coordinator::on_request(int source, int group) {
  notice_stop();
  std::optional<Work> work;
  if (!stopping_) work = queue_.pop();
  if (!work) {
    mpi::check(MPI_Send(nullptr, 0, MPI_CHAR, source, kNoMoreWork, outbox_), "MPI_Send", outbox_);
    ++released_groups_;
    return;
  }
  const TrialSpec& trial = trials_[work->trial];
  // The group starts at once; the store learns while it does (this thread
  // handles the group's records only after this).
  const std::string assignment = encode(AssignMessage{.trial = static_cast<std::int64_t>(work->trial),
                                                      .resume_from = work->resume_from,
                                                      .attempt = row_of(trial.id).retries});
  mpi::check(
      MPI_Send(assignment.data(), static_cast<int>(assignment.size()), MPI_CHAR, source, kAssign, outbox_),
      "MPI_Send", outbox_);
  running_[work->trial] =
      Running{.started = steady_seconds(),
              .first_epoch = work->resume_from,
              .epochs_run = 0,
              .last = fmt::format("epoch {}/{}", work->resume_from, epochs_[work->trial])};
  active_.insert(work->trial);
  if (work->resume_from > 0) writer_.truncate(trial.id, work->resume_from);
  writer_.set_status(trial.id, TrialStatus::running);
  const std::vector<std::string>& hosts = group_hosts_.at(static_cast<std::size_t>(group));
  json notes = json::parse(row_of(trial.id).notes_json, nullptr, false);
  if (!notes.is_object()) notes = json::object();
  notes["hosts"] = hosts;
  if (json slurm = slurm_notes(); !slurm.is_null()) notes["slurm"] = std::move(slurm);
  writer_.set_notes(trial.id, json_text(notes));
  commit();
  line(fmt::format("start  {}{} on rank {} ({})", describe(trial),
                   work->resume_from > 0 ? fmt::format(" from epoch {}", work->resume_from) : "", source,
                   fmt::join(hosts, ", ")));
}

void Coordinator::on_record(int source, const std::string& text) {
  const auto record = decode<EpochRecord>(text);
  writer_.append_epoch(record);
  const std::string ack =
      encode(AckMessage{.trial_id = record.trial_id, .epoch = record.epoch, .stop = stopping_});
  mpi::check(MPI_Send(ack.data(), static_cast<int>(ack.size()), MPI_CHAR, source, kAck, outbox_), "MPI_Send",
             outbox_);
  commit();
  const std::size_t index = index_of_.at(record.trial_id);
  const TrialSpec& trial = trials_[index];
  Running& run = running_[index];
  ++run.epochs_run;
  cost_done_now_ += trial.expected_cost / epochs_[index];
  const double per_epoch = (steady_seconds() - run.started) / run.epochs_run;
  const double r10 = mean_recall_at(record, 10);
  run.last = fmt::format("epoch {}/{} loss {:.4f}{}  {}/epoch, trial eta {}", record.epoch + 1,
                         epochs_[index], record.loss_total, r10 >= 0 ? fmt::format(" R@10 {:.2f}", r10) : "",
                         duration(per_epoch), duration(per_epoch * (epochs_[index] - record.epoch - 1)));
  line(fmt::format("epoch  {} {} | {}", describe(trial), run.last, sweep_status()));
}

void Coordinator::on_result(const std::string& text) {
  const auto message = decode<ResultMessage>(text);
  const std::size_t index = index_of_.at(message.trial_id);
  const TrialSpec& trial = trials_[index];
  const double seconds = steady_seconds() - running_[index].started;
  active_.erase(index);
  switch (message.result.outcome) {
    case TrialResult::Outcome::done:
      writer_.set_status(trial.id, TrialStatus::done);
      break;
    case TrialResult::Outcome::failed:
      writer_.set_status(trial.id, TrialStatus::failed, message.result.message);
      break;
    case TrialResult::Outcome::diverged:
      writer_.set_status(trial.id, TrialStatus::diverged, message.result.message);
      break;
    case TrialResult::Outcome::stopped:
      writer_.set_status(trial.id, TrialStatus::pending);
      stopping_ = true;
      break;
    case TrialResult::Outcome::io_fault:
      writer_.set_status(trial.id, TrialStatus::pending);
      io_fault(message.result.message);
      break;
  }
  const bool resumes = message.result.outcome == TrialResult::Outcome::stopped ||
                       message.result.outcome == TrialResult::Outcome::io_fault;
  const bool failed = message.result.outcome == TrialResult::Outcome::failed ||
                      message.result.outcome == TrialResult::Outcome::diverged;
  const std::int32_t retries = row_of(trial.id).retries;
  // A retry queued while the sweep stops is run by the rerun.
  const bool retried = failed && retries < max_retries_;
  if (retried) {
    writer_.retry(trial.id);
    queue_.push(trial, index, 0, epochs_[index]);
    total_cost_ += trial.expected_cost;
  }
  if (!resumes) {
    // The epochs it will not run still count as work finished.
    const std::int32_t ran = running_[index].first_epoch + running_[index].epochs_run;
    cost_done_now_ += trial.expected_cost * std::max(0, epochs_[index] - ran) / epochs_[index];
  }
  // Coalesced like the records: a status lost in a crash costs nothing, as
  // a rerun finds every epoch of the trial committed.
  commit();
  std::string what = to_string(message.result.outcome);
  what.resize(std::max<std::size_t>(what.size(), 6), ' ');
  std::string detail;
  if (resumes)
    detail = fmt::format(" at epoch {} (resumes there)", message.result.epoch);
  else if (!message.result.message.empty())
    detail = fmt::format(" at epoch {}: {}", message.result.epoch, message.result.message);
  line(
      fmt::format("{} {} after {}{} | {}", what, describe(trial), duration(seconds), detail, sweep_status()));
  if (retried)
    line(fmt::format("retry  {}: retry {} of sweep.max_retries = {}, from epoch 0", describe(trial),
                     retries + 1, max_retries_));
}

const store::TrialRow& Coordinator::row_of(const std::string& id) const {
  for (const auto& row : writer_.trials())
    if (row.spec.id == id) return row;
  throw Error("the store has no trial with this id", Where{.trial = id});
}

void Coordinator::commit(bool now) {
  if (store_failed_) return;
  try {
    if (now) {
      writer_.flush();
    } else {
      writer_.commit();
    }
  } catch (const Error& e) {
    if (e.code() != ExitCode::io_fault) throw;
    store_failed_ = true;
    io_fault(format_error(e.message(), e.where(), {}));
  }
}

void Coordinator::io_fault(const std::string& message) {
  stopping_ = true;
  if (!io_fault_.empty()) return;
  io_fault_ = message;
  line("I/O fault (named below): groups stop after their current epoch, then the sweep exits 74");
}

void Coordinator::on_fatal(const std::string& text) {
  const auto message = decode<ResultMessage>(text);
  const TrialSpec& trial = trials_[index_of_.at(message.trial_id)];
  writer_.set_status(trial.id, TrialStatus::failed, message.result.message);
  writer_.flush();
  line(fmt::format("failed {}: {}", describe(trial), message.result.message));
  log::error("group {} cannot go on; the store holds every committed epoch: ending the job with {}",
             message.group, static_cast<int>(ExitCode::preempted));
  MPI_Abort(MPI_COMM_WORLD, static_cast<int>(ExitCode::preempted));
}

std::string Coordinator::describe(const TrialSpec& trial) const {
  std::string text = "trial " + trial.id + " (";
  const json params = json::parse(trial.params_json);
  for (const auto& key : trial.swept_keys) {
    const auto& value = params.at(key);
    text += fmt::format("{}={} ", key, value.is_string() ? value.get<std::string>() : value.dump());
  }
  return text + fmt::format("seed {})", trial.seed);
}

std::string Coordinator::sweep_status() const {
  int finished = 0;
  for (const auto& row : writer_.trials())
    if (index_of_.count(row.spec.id) &&
        (row.status == TrialStatus::done || row.status == TrialStatus::failed ||
         row.status == TrialStatus::diverged))
      ++finished;
  const double elapsed = steady_seconds() - start_;
  const double left = total_cost_ - cost_done_before_ - cost_done_now_;
  const double eta = cost_done_now_ > 0 ? elapsed * left / cost_done_now_ : -1.0;
  return fmt::format("sweep {}/{} finished, eta {}", finished, trials_.size(), duration(eta));
}

void Coordinator::line(const std::string& text) {
  if (progress_ == nullptr) return;
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  // Over the live view, which is drawn again below the new line.
  if (live_lines_ > 0) std::fprintf(progress_, "\x1b[%dA\x1b[J", live_lines_);
  live_lines_ = 0;
  std::fprintf(progress_, "%s %s\n", stamp, text.c_str());
  if (live_) draw_live_view();
  if (std::fflush(progress_) != 0) {
    const int error = errno;
    std::clearerr(progress_);
    if (is_io_fault(error)) {
      // The file the progress output goes to, for the message.
      std::error_code unknown;
      const std::filesystem::path file =
          std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fileno(progress_)), unknown);
      const Error e = sys_error(error, unknown ? std::filesystem::path("the progress output") : file,
                                "write the progress output");
      io_fault(format_error(e.message(), e.where(), {}));
    }
  }
}

void Coordinator::draw_live_view() {
  for (const std::size_t index : active_) {
    std::fprintf(progress_, "  \u25b8 %s %s\n", describe(trials_[index]).c_str(),
                 running_[index].last.c_str());
    ++live_lines_;
  }
  std::fprintf(progress_, "  %s\n", sweep_status().c_str());
  ++live_lines_;
}

}  // namespace cir::launcher
