#include "analysis/receipt.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/keys.hpp"

namespace cir::analysis {

namespace {

using nlohmann::json;

void add(std::vector<std::string>& list, const std::string& value) {
  if (!value.empty() && std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

std::string text_of(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string listed(const std::vector<std::string>& values, const std::string& none) {
  return values.empty() ? none : fmt::format("{}", fmt::join(values, "; "));
}

std::string digests(const std::map<std::string, std::string>& map, const std::string& none) {
  std::vector<std::string> parts;
  for (const auto& [path, digest] : map) parts.push_back(fmt::format("{} sha256:{}", path, digest));
  return listed(parts, none);
}

}  // namespace

Receipt receipt_of(const SweepData& sweep) {
  Receipt r{.sweep = sweep.header.sweep, .store = sweep.source, .spec_digest = sweep.header.spec_digest};
  const json runs = json::parse(sweep.header.runs_json, nullptr, false);
  if (runs.is_array()) {
    for (const json& run : runs) {
      if (!run.is_object()) continue;
      ++r.runs;
      add(r.cir_versions, text_of(run, "cir_version"));
      add(r.cir_commits, text_of(run, "cir_commit"));
      add(r.libtorch, text_of(run, "libtorch"));
      add(r.cuda, text_of(run, "cuda"));
      add(r.mpi, text_of(run, "mpi"));
      add(r.slurm_jobs, text_of(run, "slurm_job_id"));
      for (const char* key : {"weights", "datasets"}) {
        const auto it = run.find(key);
        if (it == run.end() || !it->is_object()) continue;
        for (const auto& [path, digest] : it->items())
          (std::string(key) == "weights" ? r.weights : r.datasets)[path] = digest.get<std::string>();
      }
    }
  }
  if (r.cir_versions.empty()) add(r.cir_versions, sweep.header.cir_version);
  for (const TrialData& t : sweep.trials) {
    add(r.precision,
        TrialParams(t.row.spec).string(keys::train::precision.name, keys::train::precision.string_default));
    const json notes = json::parse(t.row.notes_json, nullptr, false);
    if (!notes.is_object()) continue;
    if (notes.contains("slurm") && notes["slurm"].is_object())
      add(r.slurm_jobs, text_of(notes["slurm"], "job_id"));
    if (notes.contains("hosts") && notes["hosts"].is_array()) {
      for (const json& h : notes["hosts"]) add(r.hosts, h.is_string() ? h.get<std::string>() : h.dump());
    }
  }
  return r;
}

std::vector<std::pair<std::string, std::string>> receipt_entries(const Receipt& r) {
  const std::string unrecorded = r.runs == 0 ? "not recorded (the store predates run receipts)" : "none";
  return {
      {"sweep", fmt::format("{} ({})", r.sweep, r.store)},
      {"spec digest", "sha256:" + r.spec_digest},
      {"cir-sweep starts", fmt::format("{}", r.runs)},
      {"cir version", listed(r.cir_versions, unrecorded)},
      {"cir commit", listed(r.cir_commits, unrecorded)},
      {"LibTorch", listed(r.libtorch, unrecorded)},
      {"CUDA", listed(r.cuda, unrecorded)},
      {"MPI", listed(r.mpi, unrecorded)},
      {"precision", listed(r.precision, keys::train::precision.string_default)},
      {"weights", digests(r.weights, r.runs == 0 ? unrecorded : "none (random initialisation)")},
      {"datasets", digests(r.datasets, r.runs == 0 ? unrecorded : "none (built-in synthetic data)")},
      {"Slurm jobs", listed(r.slurm_jobs, r.runs == 0 ? unrecorded : "none (not run under Slurm)")},
      {"hosts", listed(r.hosts, unrecorded)},
  };
}

std::string render_receipt_markdown(const Receipt& receipt) {
  std::string out = "Receipt:\n\n";
  for (const auto& [name, value] : receipt_entries(receipt)) out += fmt::format("- {}: {}\n", name, value);
  return out;
}

std::string render_receipt_latex(const Receipt& receipt) {
  std::string out = "% Receipt:\n";
  for (const auto& [name, value] : receipt_entries(receipt)) out += fmt::format("%   {}: {}\n", name, value);
  return out;
}

std::string render_receipt_csv(const Receipt& receipt) {
  std::string out = "name,value\n";
  for (const auto& [name, value] : receipt_entries(receipt))
    out += fmt::format("{},{}\n", csv_field(name), csv_field(value));
  return out;
}

std::string render_receipt(const Receipt& receipt, Format format) {
  switch (format) {
    case Format::markdown:
      return render_receipt_markdown(receipt);
    case Format::latex:
      return render_receipt_latex(receipt);
    case Format::csv:
      return render_receipt_csv(receipt);
  }
  return "";
}

}  // namespace cir::analysis
