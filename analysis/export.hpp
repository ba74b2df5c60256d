// A sweep for the rest of a researcher's tooling: TensorBoard event files
// (scalars per trial per epoch, and the hparams dashboard), a tidy CSV with
// one row per trial × epoch × metric, and the progress as JSON.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "analysis/sweep_data.hpp"
#include "analysis/table.hpp"

namespace cir::analysis {

// The metrics of one epoch: each number of the epoch record's field table
// (common/trial.hpp: loss_total, loss_info, loss_u, gamma, aug_std, lr,
// train_seconds, eval_seconds, samples_per_second) by its field name, then
// "recall" once per split and K.
struct EpochMetric {
  std::string metric{}, split{};
  int k = 0;  // 0 unless a recall
  double value = 0.0;
};
std::vector<EpochMetric> epoch_metrics(const EpochRecord& epoch);

// Header trial,seed,status,<swept keys>,epoch,metric,split,k,value,reported:
// one row per trial, committed epoch (0-based) and metric; `reported` is 1 on
// the rows of the epoch `selection` reports for a finished trial.
std::string render_csv_long(const SweepData& sweep, Selection selection);

// <dir>/<trial id>/events.out.tfevents.* for every trial with epochs: the
// session's hparams (the swept keys and the seed) and status, and one scalar
// per metric per epoch (step = the store's 0-based epoch; tags "loss_total",
// …, "recall/<split>/R@K"); <dir>/events.out.tfevents.* holds the
// experiment, whose description carries the table's verdicts. Returns the
// files written. Throws cir::Error when the folder cannot be written.
std::vector<std::filesystem::path> write_tensorboard(const SweepData& sweep, const Table& table,
                                                     const std::filesystem::path& dir, double now);

// The table's verdicts in one line per non-empty verdict class and per
// difference from the baseline row ("reproduced: 1 R@10, 0.5 R@10; …").
std::string verdict_summary(const Table& table);

}  // namespace cir::analysis
