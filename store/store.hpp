// The HDF5 results store (docs/store-format.md): the public API that the
// launcher's coordinator writes through and cir-report reads through.
// No LibTorch, no MPI.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/trial.hpp"

namespace cir::store {

// 3: every snapshot begins with a checksum block, a SHA-256 of its bytes
// that readers check before HDF5 parses the file (store/checksum.hpp).
// 2: /trials has `retries`, and /epochs and /recalls rows an `attempt`
// column, so a retried trial keeps the rows of its earlier attempts (a
// version 1 reader would mix them up). Stores of versions 1 and 2 are read
// (rows of version 1 as attempt 0), unverified, and written back as the
// current version (docs/store-format.md "Versions").
inline constexpr int kFormatVersion = 3;

// The root attributes of a store.
struct SweepHeader {
  std::string sweep;        // the sweep's name
  std::string spec_text;    // the resolved spec, as TOML text
  std::string spec_digest;  // sha256_hex of spec_text's canonical form
  std::string cir_version;
  double created = 0.0, updated = 0.0;  // unix seconds
  // How often a Slurm job of this sweep stopped and asked to be requeued, by
  // cause (slurm/run-sweep bounds the timeouts by sweep.max_requeues).
  std::int64_t requeues_timeout = 0, requeues_preemption = 0;
  // One JSON object per cir-sweep start (versions, hosts, Slurm job, weight
  // and dataset digests: launcher/receipt.hpp), as a JSON list; kept across
  // reruns and --force-new-spec, read by cir-report's receipt.
  std::string runs_json = "[]";
};

// A trial's row in /trials.
struct TrialRow {
  TrialSpec spec;
  TrialStatus status = TrialStatus::pending;
  std::int32_t attempts = 0;             // how many times a run of it started
  std::int32_t retries = 0;              // Writer::retry calls: its rows of attempt `retries` are current
  std::int32_t epochs_done = 0;          // committed epochs of the current attempt
  double started = 0.0, finished = 0.0;  // unix seconds; 0 = not yet
  std::string error;                     // the message of a failed / diverged trial
  std::string notes_json = "{}";         // anything else worth keeping (Slurm job id, dropped samples, …)
};

struct OpenOptions {
  // Keep the trials of a store whose spec digest differs from the spec being
  // run (those whose id is still in the spec), instead of refusing: the store
  // takes the new header, and the first add_trials() drops the stored trials
  // (and their rows) that it does not name.
  bool force_new_spec = false;
};

// Single-writer access (the coordinator). Every change is made in memory and
// reaches the file through commit(): the file on disk is always a complete
// snapshot (written to <store>.tmp, fsynced, renamed, folder fsynced), so a
// kill at any instant leaves the previous commit. The writer holds
// <store>.lock (flock) for its lifetime; the destructor writes what is still
// pending. Not thread-safe: one thread writes.
class Writer {
 public:
  // Opens `path`, or creates it (and its folder) with `header` and writes it
  // at once. Removes a <store>.tmp left by a killed writer. Throws cir::Error
  // with ExitCode::store_refused, leaving the file untouched, for a file that
  // is not HDF5, a non-cir HDF5 file, a newer format version, a truncated or
  // corrupt file, a store another process writes (naming its pid and host),
  // or a spec digest that differs (naming the keys that differ) unless
  // options.force_new_spec. A folder or lock file that cannot be created is
  // the failed system call's error (common/file_io.hpp: ExitCode::io_fault
  // on a full disk, else usage).
  static Writer open(const std::filesystem::path& path, const SweepHeader& header,
                     const OpenOptions& options = {});
  Writer(Writer&&) noexcept;
  Writer& operator=(Writer&&) noexcept;
  ~Writer();

  // Registers trials not yet in the store as pending; known ids keep their
  // status and rows (their index, swept keys and cost are updated). Trials
  // are kept in index order. Ids have 1 to 16 characters.
  void add_trials(const std::vector<TrialSpec>& trials);
  // Status changes. running increments attempts and stamps `started`;
  // done/failed/diverged stamp `finished`; error is kept for failed/diverged.
  void set_status(const std::string& trial_id, TrialStatus status, const std::string& error = {});
  // Starts a failed or diverged trial over as its next attempt: retries + 1,
  // pending, no committed epochs. The rows of its earlier attempts stay,
  // marked with their attempt, and its error moves to notes_json's
  // "attempts" list ({"attempt", "status", "error", "epochs"}). Throws
  // cir::Error for a trial in another status.
  void retry(const std::string& trial_id);
  void set_notes(const std::string& trial_id, const std::string& notes_json);
  // Appends one epoch of the trial's current attempt (its /epochs row and
  // its /recalls rows, marked with the attempt) and sets epochs_done =
  // record.epoch + 1. An epoch below epochs_done replaces that epoch and
  // drops the later ones; one above it (a gap) throws cir::Error. Split
  // names have 1 to 16 characters.
  void append_epoch(const EpochRecord& record);
  // Counts one stop of a Slurm job of this sweep that asks to be requeued
  // (at its time limit when `timeout`, else a preemption) and returns the
  // new count of that cause. Kept across reruns and --force-new-spec.
  std::int64_t count_requeue(bool timeout);
  // Appends one object (JSON text) to the header's runs_json.
  void add_run(const std::string& run_json);
  // Drops the current attempt's rows of epochs >= epoch (a resumed trial
  // re-runs them); earlier attempts' rows stay.
  void truncate(const std::string& trial_id, std::int32_t epoch);

  const std::vector<TrialRow>& trials() const;

  // Writes a snapshot if something changed and the last write is at least
  // a second old; otherwise leaves it for a later commit()/flush() (commits
  // that come within a second coalesce). Returns true if it wrote. A write
  // that fails on a full disk or a device error throws cir::Error with
  // ExitCode::io_fault naming the file and its free space (another failure:
  // store_refused); the file keeps its last commit, and after an I/O fault
  // the destructor writes nothing more.
  bool commit();
  // Writes a snapshot now if anything changed since the last write.
  void flush();

 private:
  struct Impl;
  explicit Writer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Which trials a rerun must still do, and from where.
struct ResumeView {
  std::vector<std::string> done;                      // ids finished (done, failed or diverged)
  std::map<std::string, std::int32_t> continue_from;  // id -> committed epochs, for unfinished trials
};

// Read-only access; safe while a writer commits (open() reads the whole file
// in one go, one snapshot, and takes no lock). Refuses what Writer::open
// refuses (ExitCode::store_refused); a missing file is ExitCode::usage.
class Reader {
 public:
  static Reader open(const std::filesystem::path& path);
  Reader(Reader&&) noexcept;
  Reader& operator=(Reader&&) noexcept;
  ~Reader();

  const SweepHeader& header() const;
  const std::vector<TrialRow>& trials() const;
  // A trial's epochs with their recalls, by epoch: those of its current
  // attempt (TrialRow::retries), or of `attempt` (0 … retries) when given.
  // An unknown id throws.
  std::vector<EpochRecord> epochs(const std::string& trial_id,
                                  std::optional<std::int32_t> attempt = std::nullopt) const;
  // The epoch of the current attempt with the highest value of a metric ("r<K>" = mean R@K over
  // splits: "r1", "r10", "r50"; "avg" = mean of "r10" and "r50"), or the
  // last epoch for "last". Epochs without the metric are skipped; ties go to
  // the earliest epoch; nullopt when no epoch has it. Another rule throws.
  std::optional<EpochRecord> select_epoch(const std::string& trial_id, const std::string& rule) const;
  ResumeView resume_view() const;

 private:
  struct Impl;
  explicit Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cir::store
