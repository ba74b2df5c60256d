#include <fcntl.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unordered_map>

#include "common/error.hpp"
#include "common/fault.hpp"
#include "common/file_io.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "store/hdf5.hpp"
#include "store/journal.hpp"
#include "store/lock_file.hpp"
#include "store/snapshot.hpp"
#include "store/spec_diff.hpp"
#include "store/store.hpp"

namespace cir::store {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A trial id as it lies in a row, for comparing rows without copying them.
std::array<char, kIdWidth> id_key(const std::string& id) {
  std::array<char, kIdWidth> key{};
  set_fixed_field(key.data(), kIdWidth, id);
  return key;
}

// Removes the rows that `drop` selects, keeping the order of the others and
// the cached chunks before the first removed row. Returns whether any went.
template <typename Row, typename Drop>
bool remove_rows(Table<Row>& table, std::size_t chunk_rows, Drop drop) {
  auto first = std::find_if(table.rows.begin(), table.rows.end(), drop);
  if (first == table.rows.end()) return false;
  table.invalidate_from(static_cast<std::size_t>(first - table.rows.begin()), chunk_rows);
  table.rows.erase(std::remove_if(first, table.rows.end(), drop), table.rows.end());
  return true;
}

}  // namespace

// A commit appends a journal frame (store/journal.hpp) unless a full
// snapshot is due: after a change the journal cannot express (new or
// reordered trials, dropped rows, header fields), at the first write after
// opening, when the journal has grown to a quarter of the snapshot (so each
// appended byte costs a bounded share of a rewrite), and when the last
// snapshot is older than kSnapshotEvery times what it took to write, and
// at least kSnapshotGap (so HDF5 tools, which read the snapshot alone,
// trail the store by little, at about 1/kSnapshotEvery of the writer's time).
constexpr std::uintmax_t kMinCompactBytes = 64 << 10;
constexpr int kSnapshotEvery = 20;
constexpr std::chrono::seconds kSnapshotGap{2};

struct Writer::Impl {
  fs::path path;
  LockFile lock;
  Snapshot snapshot;
  std::unordered_map<std::string, std::size_t> by_id;
  bool dirty = false;
  // What the file (snapshot + journal) already holds: the rows before these
  // counts, and every trial row but `changed`.
  std::size_t epochs_written = 0, recalls_written = 0;
  std::set<std::string> changed;
  bool full_write_due = true;
  UniqueFd journal;  // open for appending while full_write_due is false
  std::uintmax_t snapshot_bytes = 0, journal_bytes = 0;
  std::size_t journal_frames = 0;  // frames the current journal holds
  Clock::time_point snapshot_written;
  Clock::duration snapshot_took{};
  // Set by a forced open of a store written for another spec: the next
  // add_trials() drops the stored trials it does not name.
  bool prune_on_add = false;
  std::optional<Clock::time_point> last_write;
  // A write failed on an I/O fault: the file keeps the last commit, and the
  // destructor does not try again (the error was reported once).
  bool io_fault = false;

  Impl(fs::path p, LockFile l) : path(std::move(p)), lock(std::move(l)) {}
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  // Writes what is pending (also when a Writer is moved over) and folds the
  // journal into a full snapshot, so that a store at rest is one HDF5 file
  // for every reader; then lets the lock go. After an I/O fault it writes
  // nothing; a fold of committed frames that meets one says nothing either:
  // the journal still holds every commit.
  ~Impl() {
    if (io_fault || (!dirty && journal_frames == 0)) return;
    const bool uncommitted = dirty;
    try {
      full_write_due = true;
      write();
    } catch (const Error& error) {
      if (uncommitted || error.code() != ExitCode::io_fault)
        log::error("the last changes to the store were not written: {}", error.what());
    } catch (const std::exception& error) {
      log::error("the last changes to the store were not written: {}", error.what());
    }
  }

  void reindex() {
    by_id.clear();
    for (std::size_t i = 0; i < snapshot.trials.size(); ++i) by_id[snapshot.trials[i].spec.id] = i;
  }

  TrialRow& trial(const std::string& id) {
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      throw Error("the store has no trial with this id", Where{.file = path.string(), .trial = id},
                  "register trials with Writer::add_trials before reporting on them");
    }
    return snapshot.trials[it->second];
  }

  // Drops the rows of `id` whose attempt and epoch satisfy `drop`.
  template <typename Pred>
  bool drop_rows(const std::string& id, Pred drop) {
    const auto key = id_key(id);
    const auto matches = [&](const auto& row) {
      return std::memcmp(row_trial(row), key.data(), kIdWidth) == 0 && drop(row_attempt(row), row_epoch(row));
    };
    const bool epochs = remove_rows(snapshot.epochs, kEpochChunkRows, matches);
    const bool recalls = remove_rows(snapshot.recalls, kRecallChunkRows, matches);
    if (epochs || recalls) full_write_due = true;
    return epochs || recalls;
  }

  // Whether the snapshot, which HDF5 tools read alone, is older than the
  // rules above allow.
  bool snapshot_stale() const {
    return Clock::now() - snapshot_written >=
           std::max<Clock::duration>(kSnapshotGap, kSnapshotEvery * snapshot_took);
  }

  // Writes the pending changes: a journal frame, or a full snapshot when one
  // is due. A full disk or a device error is an I/O fault (exit 74) naming
  // the file and the free space; any other failure refuses the store (exit
  // 3). Either way the file keeps the last commit.
  void write() {
    snapshot.header.updated = unix_now();
    const bool compact = journal_bytes > std::max(kMinCompactBytes, snapshot_bytes / 4) || snapshot_stale();
    try {
      if (full_write_due || compact) {
        full_write_due = true;
        write_full();
      } else {
        append_frame();
      }
    } catch (const Error& error) {
      if (error.code() == ExitCode::io_fault) io_fault = true;
      if (error.sys_errno() == 0 || io_fault) throw;
      throw Error(error.message(), error.where(), error.hint(), ExitCode::store_refused, error.sys_errno());
    }
    epochs_written = snapshot.epochs.rows.size();
    recalls_written = snapshot.recalls.rows.size();
    changed.clear();
    dirty = false;
    last_write = Clock::now();
  }

  // Writes the snapshot, of the next generation, as <path>.tmp (its checksum
  // block too, store/checksum.hpp) and replaces the store with it durably
  // (common/file_io.hpp), then replaces the journal by an empty one of that
  // generation. A kill between the two leaves a journal of the older
  // generation, which readers ignore: the new snapshot holds its frames.
  void write_full() {
    const Clock::time_point start = Clock::now();
    journal = UniqueFd();
    ++snapshot.generation;
    replace_file_with(path, path.string() + ".tmp", [this](const fs::path& tmp) {
      try {
        write_snapshot(snapshot, tmp.string());
      } catch (const h5::Failure& failure) {
        if (failure.sys_errno() != 0) throw_sys_error(failure.sys_errno(), path, "write the store");
        throw Error(std::string("cannot write the store: ") + failure.what(), Where{.file = tmp.string()},
                    "check free space and permissions of the results folder", ExitCode::store_refused);
      }
      fault_point("store.commit");
    });
    snapshot_bytes = fs::file_size(path);
    const fs::path journal_file = journal_path(path.string());
    const std::string header = journal_header(snapshot.generation);
    replace_file(journal_file, {header});
    journal = open_file(journal_file, O_WRONLY | O_APPEND);
    journal_bytes = header.size();
    journal_frames = 0;
    full_write_due = false;
    snapshot_written = Clock::now();
    snapshot_took = snapshot_written - start;
  }

  // Appends the changes since the last write as one frame and fsyncs it. A
  // failure may leave part of a frame, which readers stop at, so the next
  // write is a full snapshot, after which the journal starts anew.
  void append_frame() {
    std::vector<const TrialRow*> rows;
    for (const std::string& id : changed) rows.push_back(&trial(id));
    const std::string frame = journal_frame(snapshot.header.updated, rows, snapshot.epochs.rows,
                                            epochs_written, snapshot.recalls.rows, recalls_written);
    full_write_due = true;
    write_all(journal, frame);
    fault_point("store.append");
    sync_file(journal);
    full_write_due = false;
    journal_bytes += frame.size();
    ++journal_frames;
  }
};

Writer::Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Writer::Writer(Writer&&) noexcept = default;
Writer& Writer::operator=(Writer&&) noexcept = default;

Writer::~Writer() = default;

Writer Writer::open(const fs::path& path, const SweepHeader& header, const OpenOptions& options) {
  if (path.has_parent_path()) {
    std::error_code error;
    fs::create_directories(path.parent_path(), error);
    if (error) throw_sys_error(error.value(), path.parent_path(), "create the store's folder");
  }
  auto impl = std::make_unique<Impl>(path, LockFile::acquire(path.string()));
  std::error_code ignored;
  fs::remove(path.string() + ".tmp", ignored);
  fs::remove(journal_path(path.string()) + ".tmp", ignored);
  Snapshot& snapshot = impl->snapshot;
  if (!fs::exists(path)) {
    snapshot.header = header;
    if (snapshot.header.created == 0.0) snapshot.header.created = unix_now();
    impl->write();
    return Writer(std::move(impl));
  }
  snapshot = read_store(path.string(), true);
  impl->journal_frames = snapshot.journal_frames;
  if (snapshot.version < kFormatVersion) {
    // Its rows read as attempt 0; the first write (a full snapshot) writes
    // it back in this version.
    log::info("{}: a store of format version {}, written back as version {}", path.string(), snapshot.version,
              kFormatVersion);
    snapshot.version = kFormatVersion;
    impl->dirty = true;
  }
  if (snapshot.header.spec_digest != header.spec_digest) {
    const std::vector<std::string> differences =
        spec_differences(snapshot.header.spec_text, header.spec_text);
    std::string listed;
    constexpr std::size_t kShown = 20;
    for (std::size_t i = 0; i < differences.size() && i < kShown; ++i) {
      listed += "\n    " + differences[i];
    }
    if (differences.size() > kShown) {
      listed += fmt::format("\n    … and {} more", differences.size() - kShown);
    }
    if (differences.empty()) listed = "\n    (the spec texts are equal; only the digests differ)";
    if (!options.force_new_spec) {
      throw Error(fmt::format("the store was written for another spec of sweep '{}' (digest {} in "
                              "the store, {} now); what differs:{}",
                              snapshot.header.sweep, snapshot.header.spec_digest.substr(0, 16),
                              header.spec_digest.substr(0, 16), listed),
                  Where{.file = path.string()},
                  "rerun with --force-new-spec to keep the trials that are still in the spec, or "
                  "give the sweep another name",
                  ExitCode::store_refused);
    }
    log::warn("{}: the spec changed; keeping the trials that are still in it:{}", path.string(), listed);
    const SweepHeader kept = snapshot.header;
    snapshot.header = header;
    snapshot.header.created = kept.created;
    snapshot.header.requeues_timeout = kept.requeues_timeout;
    snapshot.header.requeues_preemption = kept.requeues_preemption;
    snapshot.header.runs_json = kept.runs_json;
    // Nothing is written until add_trials() has dropped the trials that are
    // not in the new spec: the store never holds the new header with them.
    impl->prune_on_add = true;
  } else if (snapshot.header.cir_version != header.cir_version) {
    snapshot.header.cir_version = header.cir_version;
    impl->dirty = true;
  }
  impl->reindex();
  return Writer(std::move(impl));
}

std::int64_t Writer::count_requeue(bool timeout) {
  SweepHeader& header = impl_->snapshot.header;
  std::int64_t& count = timeout ? header.requeues_timeout : header.requeues_preemption;
  ++count;
  impl_->dirty = true;
  impl_->full_write_due = true;
  return count;
}

void Writer::add_run(const std::string& run_json) {
  std::string& runs = impl_->snapshot.header.runs_json;
  nlohmann::json list = nlohmann::json::parse(runs, nullptr, false);
  if (!list.is_array()) list = nlohmann::json::array();
  list.push_back(nlohmann::json::parse(run_json));
  runs = list.dump();
  impl_->dirty = true;
  impl_->full_write_due = true;
}

void Writer::add_trials(const std::vector<TrialSpec>& trials) {
  Impl& impl = *impl_;
  for (const TrialSpec& spec : trials) {
    if (spec.id.empty() || spec.id.size() > kIdWidth) {
      throw Error(fmt::format("a trial id must have 1 to {} characters", kIdWidth),
                  Where{.file = impl.path.string(), .trial = spec.id});
    }
  }
  if (impl.prune_on_add) {
    std::set<std::string> keep;
    for (const TrialSpec& spec : trials) keep.insert(spec.id);
    std::vector<TrialRow> kept;
    for (TrialRow& row : impl.snapshot.trials) {
      if (keep.count(row.spec.id) != 0) {
        kept.push_back(std::move(row));
      } else {
        impl.drop_rows(row.spec.id, [](std::int32_t, std::int32_t) { return true; });
      }
    }
    impl.snapshot.trials = std::move(kept);
    impl.reindex();
    impl.prune_on_add = false;
    impl.dirty = true;
  }
  for (const TrialSpec& spec : trials) {
    auto it = impl.by_id.find(spec.id);
    if (it == impl.by_id.end()) {
      TrialRow row;
      row.spec = spec;
      impl.by_id[spec.id] = impl.snapshot.trials.size();
      impl.snapshot.trials.push_back(std::move(row));
      impl.dirty = true;
      continue;
    }
    TrialSpec& known = impl.snapshot.trials[it->second].spec;
    if (known.index != spec.index || known.swept_keys != spec.swept_keys ||
        known.expected_cost != spec.expected_cost) {
      known.index = spec.index;
      known.swept_keys = spec.swept_keys;
      known.expected_cost = spec.expected_cost;
      impl.dirty = true;
    }
  }
  if (impl.dirty) impl.full_write_due = true;
  impl.snapshot.params.reset();
  std::stable_sort(impl.snapshot.trials.begin(), impl.snapshot.trials.end(),
                   [](const TrialRow& a, const TrialRow& b) { return a.spec.index < b.spec.index; });
  impl.reindex();
}

void Writer::set_status(const std::string& trial_id, TrialStatus status, const std::string& error) {
  TrialRow& row = impl_->trial(trial_id);
  row.status = status;
  switch (status) {
    case TrialStatus::running:
      ++row.attempts;
      row.started = unix_now();
      row.finished = 0.0;
      row.error.clear();
      break;
    case TrialStatus::done:
      row.finished = unix_now();
      row.error.clear();
      break;
    case TrialStatus::failed:
    case TrialStatus::diverged:
      row.finished = unix_now();
      row.error = error;
      break;
    case TrialStatus::pending:
      row.finished = 0.0;
      row.error.clear();
      break;
  }
  impl_->changed.insert(trial_id);
  impl_->dirty = true;
}

void Writer::retry(const std::string& trial_id) {
  TrialRow& row = impl_->trial(trial_id);
  if (row.status != TrialStatus::failed && row.status != TrialStatus::diverged) {
    throw Error(
        fmt::format("only a failed or diverged trial is retried, not a {} one", to_string(row.status)),
        Where{.file = impl_->path.string(), .trial = trial_id});
  }
  nlohmann::json notes = nlohmann::json::parse(row.notes_json, nullptr, false);
  if (!notes.is_object()) notes = nlohmann::json::object();
  if (!notes["attempts"].is_array()) notes["attempts"] = nlohmann::json::array();
  notes["attempts"].push_back({{"attempt", row.retries},
                               {"status", to_string(row.status)},
                               {"error", row.error},
                               {"epochs", row.epochs_done}});
  row.notes_json = json_text(notes);
  ++row.retries;
  row.epochs_done = 0;
  set_status(trial_id, TrialStatus::pending);
}

void Writer::set_notes(const std::string& trial_id, const std::string& notes_json) {
  TrialRow& row = impl_->trial(trial_id);
  if (row.notes_json == notes_json) return;
  row.notes_json = notes_json;
  impl_->changed.insert(trial_id);
  impl_->dirty = true;
}

void Writer::append_epoch(const EpochRecord& record) {
  Impl& impl = *impl_;
  TrialRow& row = impl.trial(record.trial_id);
  const Where where{.file = impl.path.string(), .trial = record.trial_id};
  if (record.epoch < 0) throw Error(fmt::format("epoch {} is negative", record.epoch), where);
  if (record.epoch > row.epochs_done) {
    throw Error(fmt::format("epoch {} arrived, but the store holds epochs 0 to {} only: epochs "
                            "between are missing",
                            record.epoch, row.epochs_done - 1),
                where, "report every epoch in order, or truncate() before re-running epochs");
  }
  for (const RecallValue& recall : record.recalls) {
    if (recall.split.empty() || recall.split.size() > kSplitWidth) {
      throw Error(fmt::format("split name '{}' must have 1 to {} characters", recall.split, kSplitWidth),
                  where);
    }
  }
  if (record.epoch < row.epochs_done) truncate(record.trial_id, record.epoch);
  impl.snapshot.epochs.rows.push_back(epoch_row(record, row.retries));
  for (const RecallRow& recall : recall_rows(record, row.retries))
    impl.snapshot.recalls.rows.push_back(recall);
  row.epochs_done = record.epoch + 1;
  impl.changed.insert(record.trial_id);
  impl.dirty = true;
}

void Writer::truncate(const std::string& trial_id, std::int32_t epoch) {
  TrialRow& row = impl_->trial(trial_id);
  const bool dropped = impl_->drop_rows(
      trial_id, [&](std::int32_t attempt, std::int32_t e) { return attempt == row.retries && e >= epoch; });
  const std::int32_t done = std::max(0, std::min(row.epochs_done, epoch));
  if (dropped || done != row.epochs_done) {
    impl_->changed.insert(trial_id);
    impl_->dirty = true;
  }
  row.epochs_done = done;
}

const std::vector<TrialRow>& Writer::trials() const { return impl_->snapshot.trials; }

bool Writer::commit() {
  // An idle writer (ranks held in a long step, or between trials) still
  // folds its journal into the snapshot once the snapshot is stale, so HDF5
  // tools do not trail the store for as long as nothing new arrives.
  if (!impl_->dirty && !(impl_->journal_frames > 0 && impl_->snapshot_stale())) return false;
  if (impl_->last_write && Clock::now() - *impl_->last_write < std::chrono::seconds(1)) return false;
  impl_->write();
  return true;
}

void Writer::flush() {
  if (impl_->dirty) impl_->write();
}

}  // namespace cir::store
