// Figures of a sweep, drawn by gnuplot (Debian's gnuplot-nox) as SVG and/or
// PNG: the training loss per epoch of every trial (the paper's Figure 5),
// Recall@K per epoch (above 48 trials, one line per grid point: the mean
// over its seeds), and, when the sweep varies one numeric parameter,
// Recall@K at the reported epoch against it (mean ± std over seeds; a log
// axis when the values span a decade or more; ∞ as a horizontal line).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "analysis/sweep_data.hpp"

namespace cir::analysis {

struct FigureOptions {
  std::filesystem::path out_dir{};  // where the files go (created if missing)
  std::string stem{};               // file names: <stem>-loss.svg, <stem>-recall.svg, <stem>-vs-<key>.svg
  bool svg = true, png = true;
  Selection selection = Selection::best_r10;  // the epoch of the parameter figures
  std::string gnuplot = "gnuplot";            // the program, looked up on PATH
};

// The program's full path when it can be run, or "".
std::string find_program(const std::string& name);

// Writes the figures and returns their paths. Throws cir::Error when
// gnuplot is missing or fails (with its message).
std::vector<std::filesystem::path> write_figures(const SweepData& sweep, const FigureOptions& options);

// The same figures as SVG texts, by name ("loss", "recall", "vs-<key>"),
// drawn in a temporary folder that is removed. Throws as write_figures.
std::vector<std::pair<std::string, std::string>> figure_svgs(const SweepData& sweep, Selection selection,
                                                             const std::string& gnuplot = "gnuplot");

}  // namespace cir::analysis
