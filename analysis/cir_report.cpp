// cir-report: the paper's tables and a sweep's figures from a results
// store, with the printed numbers beside ours; --status for a running sweep.
#include <fmt/format.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

#include "analysis/export.hpp"
#include "analysis/figures.hpp"
#include "analysis/html.hpp"
#include "analysis/paper.hpp"
#include "analysis/receipt.hpp"
#include "analysis/render.hpp"
#include "analysis/status.hpp"
#include "analysis/sweep_data.hpp"
#include "analysis/table.hpp"
#include "common/error.hpp"
#include "common/file_io.hpp"

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
    "and <store>-vs-<key> as SVG and PNG. Under the table, a line for any split that\n"
    "data.missing_images = \"skip\" cut short (\"evaluated on N of M queries\"), and the sweep's\n"
    "reproducibility receipt (spec digest, cir version and commit, LibTorch/CUDA/MPI, precision,\n"
    "weight and dataset digests, Slurm jobs, hosts); --receipt prints it alone. --status shows a\n"
    "running sweep's progress instead.\n"
    "--html FILE writes all of it as one self-contained page (figures inline); --export writes the\n"
    "sweep for other tools: TensorBoard event files or a tidy CSV (one row per trial, epoch, metric).\n"
    "Exit codes: 0 reported, 1 the figures could not be drawn (the table is printed), 2 usage error\n"
    "or missing store, 3 not a readable cir store.";

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int status(const std::string& store, bool watch, double interval, bool json) {
  for (;;) {
    std::string text;
    bool running = false;
    if (watch && !fs::exists(store)) {
      text = fmt::format("waiting for {} to appear (cir-sweep creates it when the sweep starts)\n", store);
      running = true;
    } else {
      const SweepData sweep = load_sweep(store);
      text = json ? render_status_json(sweep, unix_now()) : render_status(sweep, unix_now());
      running = in_progress(sweep);
    }
    if (watch && !json && isatty(STDOUT_FILENO)) std::fputs("\033[H\033[2J", stdout);
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    if (!watch || !running) return 0;
    std::this_thread::sleep_for(std::chrono::duration<double>(interval));
    if (!isatty(STDOUT_FILENO)) std::fputs("\n", stdout);
  }
}

// The figures for --html, or why there are none.
std::vector<Figure> html_figures(const SweepData& sweep, Selection selection, bool wanted,
                                 std::string& note) {
  std::vector<Figure> figures;
  if (!wanted) {
    note = "Figures left out (--no-figures).";
  } else if (find_program("gnuplot").empty()) {
    note = "No figures: gnuplot is not installed (scripts/install-deps.sh installs it).";
  } else {
    for (auto& [name, text] : figure_svgs(sweep, selection)) figures.push_back({name, inline_svg(text)});
  }
  return figures;
}

int write_export(const std::vector<std::string>& spec, const SweepData& sweep, const Table& table,
                 Selection selection) {
  const std::string& kind = spec[0];
  const fs::path path = spec[1];
  if (kind == "tensorboard") {
    const auto files = write_tensorboard(sweep, table, path, unix_now());
    std::fprintf(stderr, "cir-report: wrote %zu TensorBoard event files under %s (tensorboard --logdir %s)\n",
                 files.size(), path.c_str(), path.c_str());
    return 0;
  }
  if (kind == "csv-long") {
    const std::string text = render_csv_long(sweep, selection);
    cir::replace_file(path, {text});
    std::fprintf(stderr, "cir-report: wrote %s\n", path.c_str());
    return 0;
  }
  throw cir::Error(fmt::format("unknown export '{}'", kind), cir::Where{.key = "--export"},
                   "use --export tensorboard DIR or --export csv-long FILE");
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
  bool no_paper = false, no_figures = false, show_status = false, watch = false, receipt_only = false;
  std::vector<std::string> export_spec;
  std::string html_file;
  double interval = 5.0;
  app.add_option("store", store, "results store, e.g. results/gamma0.h5")->required();
  app.add_option(
         "--table", options.table,
         "layout: table1, table2_shoes, table2_fashion200k, table3, table4, table5, discrepancy (each "
         "paper-vs-code switch's effect with its interval) or generic (default: chosen from the swept "
         "parameters and the dataset)")
      ->check(CLI::IsMember(table_names()));
  app.add_option("--format", format,
                 "markdown (default), latex (booktabs) or csv (one line per cell); with --status: markdown "
                 "(default) or json");
  app.add_option("--select", select,
                 "epoch of each trial: best:r10 (default, the authors' rule), best:avg or last");
  app.add_flag("--no-paper", no_paper, "leave the paper's values and the differences out");
  app.add_flag("--others", options.others, "add the paper's rows of other methods (Tables 1 and 2)");
  app.add_option("--paper", paper_file, "the paper's numbers as TOML (default: the copy built in)")
      ->check(CLI::ExistingFile);
  app.add_option("--out", out_dir, "folder for the figures (default: the store's folder)");
  app.add_option("--figures", figure_format, "figure files: svg, png or both (default)")
      ->check(CLI::IsMember({"svg", "png", "both"}));
  app.add_flag("--no-figures", no_figures, "print the table only (with --html: a page without figures)");
  app.add_option("--html", html_file,
                 "write the table with its verdicts, the figures (inline SVG), the status and the receipt as "
                 "one self-contained HTML file, instead of printing");
  app.add_option(
         "--export", export_spec,
         "KIND PATH, instead of printing: 'tensorboard DIR' (event files: scalars per trial per epoch, "
         "the hparams dashboard, the verdicts in its description) or 'csv-long FILE' (columns trial, "
         "seed, status, swept keys, epoch, metric, split, k, value, reported)")
      ->expected(2);
  app.add_flag("--receipt", receipt_only, "print the sweep's reproducibility receipt alone (in --format)");
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
    if (show_status || watch) {
      if (format != "markdown" && format != "md" && format != "json") {
        throw cir::Error(fmt::format("--status has no format '{}'", format), cir::Where{.key = "--format"},
                         "use --format markdown (the default) or --format json");
      }
      return status(store, watch, interval, format == "json");
    }
    if (format == "json") {
      throw cir::Error("--format json is for --status", cir::Where{.key = "--format"},
                       "add --status, or use --export csv-long FILE for the results");
    }
    options.selection = parse_selection(select);
    options.paper = !no_paper;
    const Format out = parse_format(format);
    const PaperTables paper =
        paper_file.empty() ? PaperTables::builtin() : PaperTables::from_file(paper_file);
    const SweepData sweep = load_sweep(store);
    const Receipt receipt = receipt_of(sweep);
    if (receipt_only) {
      std::fputs(render_receipt(receipt, out).c_str(), stdout);
      return 0;
    }
    const Table table = build_table(sweep, paper, options);
    if (!export_spec.empty()) return write_export(export_spec, sweep, table, options.selection);
    if (!html_file.empty()) {
      std::string note;
      const std::vector<Figure> figures = html_figures(sweep, options.selection, !no_figures, note);
      const std::string page =
          render_html_page(table, figures, render_status(sweep, unix_now()), receipt, note);
      cir::replace_file(html_file, {page});
      std::fprintf(stderr, "cir-report: wrote %s (%zu figures)\n", html_file.c_str(), figures.size());
      return 0;
    }
    std::fputs(render(table, out).c_str(), stdout);
    if (out != Format::csv) std::fputs(("\n" + render_receipt(receipt, out)).c_str(), stdout);
    std::fflush(stdout);
    if (out == Format::csv) {
      for (const std::string& f : table.footnotes) std::fprintf(stderr, "%s\n", f.c_str());
      std::fputs(render_receipt(receipt, Format::markdown).c_str(), stderr);
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
