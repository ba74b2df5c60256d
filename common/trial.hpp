// What the launcher, the workers and the store say to each other about a
// trial: its definition, the record of one epoch, how a run ended, and the
// runner interface that workers/ implements. No LibTorch, no MPI, no HDF5.
//
// Each record has a field table (common/fields.hpp) that every encoding
// derives from: the JSON of the launcher's messages and of the workers'
// checkpoints (common/fields_json.hpp) and, for EpochRecord, the columns of
// the store's /epochs (store/snapshot.hpp). A new member is one table entry
// next to it; docs/adding-a-record-field.md walks through one.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "common/fields.hpp"

namespace cir {

enum class TrialStatus : std::int8_t { pending = 0, running = 1, done = 2, failed = 3, diverged = 4 };

// "pending", "running", "done", "failed", "diverged".
const char* to_string(TrialStatus status);

// One point of a sweep's grid with one seed.
struct TrialSpec {
  std::string id;          // digest of the parameters and seed (launcher/expand.cpp): 16 hex digits
  std::int64_t index = 0;  // position in the sweep's expanded trial list
  std::int64_t seed = 0;
  // Every resolved key of the trial, as one canonical JSON object with dotted
  // keys in sorted order ({"loss.gamma0":1.0,"train.lr":0.04,…}); ±infinity
  // and NaN are the strings "inf", "-inf" and "nan".
  std::string params_json;
  // The keys that the sweep's grid varies, in grid order ("loss.gamma0", …).
  std::vector<std::string> swept_keys;
  // A relative cost estimate for longest-expected-first scheduling.
  double expected_cost = 1.0;

  bool operator==(const TrialSpec&) const = default;
};

constexpr auto fields(std::type_identity<TrialSpec>) {
  return std::tuple{Field{"id", &TrialSpec::id},
                    Field{"index", &TrialSpec::index},
                    Field{"seed", &TrialSpec::seed},
                    Field{"params_json", &TrialSpec::params_json},
                    Field{"swept_keys", &TrialSpec::swept_keys},
                    Field{"expected_cost", &TrialSpec::expected_cost}};
}
static_assert(lists_every_member<TrialSpec>());

// Recall@K of one split at one epoch, and what it was measured on: the
// split's queries and gallery images evaluated, and the protocol's (those
// plus what data.missing_images = "skip" dropped for a missing image). A
// count and its total of 0 come from a store or checkpoint written before
// the counts were recorded: unknown, not a shortfall.
struct RecallValue {
  std::string split;  // "dress", "shirt", "toptee", "test", "val", …
  std::int32_t k = 0;
  double value = 0.0;  // percent, 0–100
  std::int64_t queries = 0, queries_total = 0;
  std::int64_t gallery = 0, gallery_total = 0;

  bool operator==(const RecallValue&) const = default;
};

// The names are the store's /recalls columns (results/README.md), whose
// row store/snapshot.hpp lays out by hand (RecallRow).
constexpr auto fields(std::type_identity<RecallValue>) {
  return std::tuple{Field{"split", &RecallValue::split},
                    Field{"k", &RecallValue::k},
                    Field{"value", &RecallValue::value},
                    Field{"queries", &RecallValue::queries},
                    Field{"queries_total", &RecallValue::queries_total},
                    Field{"gallery", &RecallValue::gallery},
                    Field{"gallery_total", &RecallValue::gallery_total}};
}
static_assert(lists_every_member<RecallValue>());

// What a trial reports at the end of each epoch (results/README.md "/epochs").
struct EpochRecord {
  std::string trial_id;
  std::int32_t epoch = 0;  // 0-based
  double loss_total = 0.0, loss_info = 0.0, loss_u = 0.0;
  double gamma = 0.0;    // the balance weight γ of this epoch
  double aug_std = 0.0;  // the augmenter's mean σ_t over the epoch
  double lr = 0.0;       // base learning rate at the end of the epoch
  double train_seconds = 0.0, eval_seconds = 0.0, samples_per_second = 0.0;
  std::vector<RecallValue> recalls;  // empty when the epoch was not evaluated

  bool operator==(const EpochRecord&) const = default;
};

// The names are the store's /epochs columns (results/README.md) and the keys
// of the record's JSON. The recalls are no /epochs column: the store keeps
// them in /recalls, one row per value.
constexpr auto fields(std::type_identity<EpochRecord>) {
  return std::tuple{Field{"trial", &EpochRecord::trial_id},
                    Field{"epoch", &EpochRecord::epoch},
                    Field{"loss_total", &EpochRecord::loss_total},
                    Field{"loss_info", &EpochRecord::loss_info},
                    Field{"loss_u", &EpochRecord::loss_u},
                    Field{"gamma", &EpochRecord::gamma},
                    Field{"aug_std", &EpochRecord::aug_std},
                    Field{"lr", &EpochRecord::lr},
                    Field{"train_seconds", &EpochRecord::train_seconds},
                    Field{"eval_seconds", &EpochRecord::eval_seconds},
                    Field{"samples_per_second", &EpochRecord::samples_per_second},
                    Field{"recalls", &EpochRecord::recalls}};
}
static_assert(lists_every_member<EpochRecord>());

// How a run of a trial ended. io_fault: it stopped on a full disk or a
// device error (common/file_io.hpp) and resumes like a stopped run once that
// is fixed.
struct TrialResult {
  enum class Outcome { done, failed, diverged, stopped, io_fault } outcome = Outcome::done;
  std::int32_t epoch = -1;  // the epoch at which it failed, diverged or stopped
  std::string message;      // the error text for failed / diverged / io_fault

  bool operator==(const TrialResult&) const = default;
};

constexpr auto fields(std::type_identity<TrialResult>) {
  return std::tuple{Field{"outcome", &TrialResult::outcome}, Field{"epoch", &TrialResult::epoch},
                    Field{"message", &TrialResult::message}};
}
static_assert(lists_every_member<TrialResult>());

// "done", "failed", "diverged", "stopped", "io_fault".
const char* to_string(TrialResult::Outcome outcome);

// How a run that threw `error` at `epoch` ended: io_fault for a cir::Error
// of ExitCode::io_fault, with its message on one line (no hint); failed,
// with the whole message, for anything else.
TrialResult thrown_result(const std::exception& error, std::int32_t epoch);
// An outcome in JSON is its name; reading another string throws
// nlohmann::json::exception.
void to_json(nlohmann::json& j, TrialResult::Outcome outcome);
void from_json(const nlohmann::json& j, TrialResult::Outcome& outcome);

// Everything a runner gets from the launcher for one run of a trial.
struct TrialContext {
  const TrialSpec* trial = nullptr;
  // Epochs already committed to the store (0 = fresh start): resume from the
  // checkpoint of epoch resume_from - 1 and report epochs resume_from, …
  std::int32_t resume_from = 0;
  std::string checkpoint_dir;  // results/<sweep>/checkpoints/<trial id>/
  int group_rank = 0, group_size = 1;
  // This rank's place among the ranks of the job on its node (from the
  // launcher's node communicator): which GPU is its own, how many share the cores.
  int local_rank = 0, local_size = 1;
  // The group's MPI communicator (an MPI_Comm cast to an integer handle via
  // MPI_Comm_c2f), so this header needs no MPI.
  int group_comm_f = 0;
  // Called by the group leader (group_rank 0) once per finished epoch; it
  // returns when the coordinator has the record.
  std::function<void(const EpochRecord&)> report;
  // True once a stop signal (SIGTERM, SIGUSR1) arrived: checkpoint at the
  // next step boundary and return Outcome::stopped. Every rank of the group
  // sees the same answer at the same step (the launcher agrees it across
  // the group).
  std::function<bool()> stop_requested;
};

// Runs one trial on one group of ranks; every rank of the group calls run()
// with the same trial. Implemented by workers/ (the real trainer) and by the
// launcher's tests (a small deterministic fake).
class TrialRunner {
 public:
  virtual ~TrialRunner() = default;
  virtual TrialResult run(const TrialContext& context) = 0;
};

}  // namespace cir
