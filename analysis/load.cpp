#include <fmt/format.h>

#include <algorithm>

#include "analysis/sweep_data.hpp"
#include "common/error.hpp"

namespace cir::analysis {

SweepData load_sweep(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw Error("no such store", Where{.file = path.string()},
                "cir-sweep SPEC writes results/<sweep name>.h5; check the path (cir-report --help)");
  }
  if (std::filesystem::is_directory(path, ec)) {
    throw Error("this is a folder, not a store", Where{.file = path.string()},
                "give the .h5 file, e.g. results/<sweep name>.h5");
  }
  const store::Reader reader = store::Reader::open(path);
  SweepData sweep{.source = path.string(), .header = reader.header()};
  for (const store::TrialRow& row : reader.trials()) {
    sweep.trials.push_back({.row = row, .epochs = reader.epochs(row.spec.id)});
  }
  std::stable_sort(sweep.trials.begin(), sweep.trials.end(), [](const TrialData& a, const TrialData& b) {
    return a.row.spec.index < b.row.spec.index;
  });
  return sweep;
}

}  // namespace cir::analysis
