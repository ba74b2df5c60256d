// The reproducibility receipt of a sweep (cir-report --receipt, and under
// every table): the spec's digest, and from every cir-sweep start the store
// recorded (store::SweepHeader::runs_json, written by launcher/receipt.hpp)
// the cir version and commit, LibTorch, CUDA and MPI versions, Slurm jobs
// and the digests of weight files and datasets; from the trials, their
// precision (parameters) and the hosts and Slurm jobs that ran them (notes).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "analysis/render.hpp"
#include "analysis/sweep_data.hpp"

namespace cir::analysis {

struct Receipt {
  std::string sweep{}, store{}, spec_digest{};
  std::size_t runs = 0;  // cir-sweep starts recorded
  // Each a distinct value over the runs (or trials), in first-seen order.
  std::vector<std::string> cir_versions{}, cir_commits{}, libtorch{}, cuda{}, mpi{}, precision{}, hosts{},
      slurm_jobs{};
  std::map<std::string, std::string> weights{}, datasets{};  // path → digest
};

Receipt receipt_of(const SweepData& sweep);

// One "- name: value" line per entry, under a "Receipt" heading; what the
// store does not record says so.
std::string render_receipt_markdown(const Receipt& receipt);
// The same lines as LaTeX % comments.
std::string render_receipt_latex(const Receipt& receipt);
// name,value lines (lists joined with "; ").
std::string render_receipt_csv(const Receipt& receipt);

std::string render_receipt(const Receipt& receipt, Format format);

// The entries as (name, value) pairs, in the order printed.
std::vector<std::pair<std::string, std::string>> receipt_entries(const Receipt& receipt);

}  // namespace cir::analysis
