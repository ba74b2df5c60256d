// cir-report: the paper's tables and a sweep's figures from a results
// store, with the printed numbers beside ours; --status for a running sweep.
#include <fmt/format.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

#include "analysis/figures.hpp"
#include "analysis/paper.hpp"
#include "analysis/render.hpp"
#include "analysis/status.hpp"
#include "analysis/sweep_data.hpp"
#include "analysis/table.hpp"
#include "common/error.hpp"

namespace {

namespace fs = std::filesystem;
using namespace cir::analysis;

constexpr const char* kDescription =
    "Prints a sweep's results as the paper's table (Tables 1-5, chosen from the swept parameters,\n"
    "or a generic table), with the paper's printed numbers and the difference beside ours, a verdict\n"
    "per cell (the paper's value inside our 95% t-interval over seeds, below, above, or too few\n"
    "seeds), a mark where a row differs from the baseline row beyond seed noise (Welch's t-test),\n"
    "and how much the epoch selection gains over the last epoch (docs/verdicts.md); it\n"
    "draws its figures with gnuplot next to the store (or in --out): <store>-loss, <store>-recall\n"
    "and <store>-vs-<key> as SVG and PNG. --status shows a running sweep's progress instead.\n"
    "Exit codes: 0 reported, 1 gnuplot failed, 2 usage error or missing store,\n"
    "3 not a readable cir store.";

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int status(const std::string& store, bool watch, double interval) {
  for (;;) {
    std::string text;
    bool running = false;
    if (watch && !fs::exists(store)) {
      text = fmt::format("waiting for {} to appear (cir-sweep creates it when the sweep starts)\n", store);
      running = true;
    } else {
      const SweepData sweep = load_sweep(store);
      text = render_status(sweep, unix_now());
      running = in_progress(sweep);
    }
    if (watch && isatty(STDOUT_FILENO)) std::fputs("\033[H\033[2J", stdout);
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    if (!watch || !running) return 0;
    std::this_thread::sleep_for(std::chrono::duration<double>(interval));
    if (!isatty(STDOUT_FILENO)) std::fputs("\n", stdout);
  }
}

int run(int argc, char** argv) {
  CLI::App app{kDescription, "cir-report"};
  std::string store;
  std::string format = "markdown";
  std::string select = "best:r10";
  std::string paper_file;
  std::string out_dir;
  std::string figure_format = "both";
  TableOptions options;
  bool no_paper = false, no_figures = false, show_status = false, watch = false;
  double interval = 5.0;
  app.add_option("store", store, "results store, e.g. results/gamma0.h5")->required();
  app.add_option("--table", options.table,
                 "layout: table1, table2_shoes, table2_fashion200k, table3, table4, table5 or generic "
                 "(default: chosen from the swept parameters and the dataset)")
      ->check(CLI::IsMember(table_names()));
  app.add_option("--format", format, "markdown (default), latex (booktabs) or csv (one line per cell)");
  app.add_option("--select", select,
                 "epoch of each trial: best:r10 (default, the authors' rule), best:avg or last");
  app.add_flag("--no-paper", no_paper, "leave the paper's values and the differences out");
  app.add_flag("--others", options.others, "add the paper's rows of other methods (Tables 1 and 2)");
  app.add_option("--paper", paper_file, "the paper's numbers as TOML (default: the copy built in)")
      ->check(CLI::ExistingFile);
  app.add_option("--out", out_dir, "folder for the figures (default: the store's folder)");
  app.add_option("--figures", figure_format, "figure files: svg, png or both (default)")
      ->check(CLI::IsMember({"svg", "png", "both"}));
  app.add_flag("--no-figures", no_figures, "print the table only");
  app.add_flag("--status", show_status, "show the sweep's progress (trials, epochs, ETA, failures) instead");
  app.add_flag("--watch", watch, "with --status: refresh until no trial is pending or running");
  app.add_option("--interval", interval, "seconds between --watch refreshes (default 5)")
      ->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : static_cast<int>(cir::ExitCode::usage);
  }
  try {
    if (show_status || watch) return status(store, watch, interval);
    options.selection = parse_selection(select);
    options.paper = !no_paper;
    const Format out = parse_format(format);
    const PaperTables paper =
        paper_file.empty() ? PaperTables::builtin() : PaperTables::from_file(paper_file);
    const SweepData sweep = load_sweep(store);
    const Table table = build_table(sweep, paper, options);
    std::fputs(render(table, out).c_str(), stdout);
    std::fflush(stdout);
    if (out == Format::csv) {
      for (const std::string& f : table.footnotes) std::fprintf(stderr, "%s\n", f.c_str());
    }
    if (no_figures) return 0;
    FigureOptions figures{.out_dir = out_dir.empty() ? fs::path(store).parent_path() : fs::path(out_dir),
                          .stem = fs::path(store).stem().string(),
                          .svg = figure_format != "png",
                          .png = figure_format != "svg",
                          .selection = options.selection};
    if (figures.out_dir.empty()) figures.out_dir = ".";
    if (find_program(figures.gnuplot).empty()) {
      std::fprintf(
          stderr, "cir-report: no figures: gnuplot is not installed (scripts/install-deps.sh installs it)\n");
      return 0;
    }
    try {
      for (const fs::path& f : write_figures(sweep, figures))
        std::fprintf(stderr, "cir-report: wrote %s\n", f.c_str());
    } catch (const cir::Error& e) {
      std::fprintf(stderr, "cir-report: %s\n", e.what());
      return 1;
    }
    return 0;
  } catch (const cir::Error& e) {
    std::fprintf(stderr, "cir-report: %s\n", e.what());
    return static_cast<int>(e.code());
  }
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
