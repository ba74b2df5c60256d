// cir-report: the paper's tables from a results store, with the printed
// numbers beside ours.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>

#include "analysis/paper.hpp"
#include "analysis/render.hpp"
#include "analysis/sweep.hpp"
#include "analysis/table.hpp"
#include "common/error.hpp"

namespace {

constexpr const char* kDescription =
    "Prints a sweep's results as the paper's table (Tables 1-5, chosen from the swept parameters,\n"
    "or a generic table), with the paper's printed numbers and the difference beside ours.\n"
    "Exit codes: 0 reported, 2 usage error or missing store, 3 not a readable cir store.";

int run(int argc, char** argv) {
  using namespace cir::analysis;
  CLI::App app{kDescription, "cir-report"};
  std::string store;
  std::string format = "markdown";
  std::string select = "best:r10";
  std::string paper_file;
  TableOptions options;
  bool no_paper = false;
  app.add_option("store", store, "results store, e.g. results/gamma0.h5")->required();
  app.add_option("--table", options.table,
                 "layout: table1, table2_shoes, table2_fashion200k, table3, table4, "
                 "table5 or generic (default: chosen from the swept parameters)")
      ->check(CLI::IsMember(table_names()));
  app.add_option("--format", format, "markdown (default), latex (booktabs) or csv (one line per cell)");
  app.add_option("--select", select,
                 "epoch of each trial: best:r10 (default, the authors' rule), best:avg or last");
  app.add_flag("--no-paper", no_paper, "leave the paper's values and the differences out");
  app.add_flag("--others", options.others, "add the paper's rows of other methods (Tables 1 and 2)");
  app.add_option("--paper", paper_file, "the paper's numbers as TOML (default: the copy built in)")
      ->check(CLI::ExistingFile);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : static_cast<int>(cir::ExitCode::usage);
  }
  try {
    options.selection = parse_selection(select);
    options.paper = !no_paper;
    const Format out = parse_format(format);
    const PaperTables paper =
        paper_file.empty() ? PaperTables::builtin() : PaperTables::from_file(paper_file);
    const SweepData sweep = load_sweep(store);
    const Table table = build_table(sweep, paper, options);
    std::fputs(render(table, out).c_str(), stdout);
    if (out == Format::csv) {
      for (const std::string& f : table.footnotes) std::fprintf(stderr, "%s\n", f.c_str());
    }
    return 0;
  } catch (const cir::Error& e) {
    std::fprintf(stderr, "cir-report: %s\n", e.what());
    return static_cast<int>(e.code());
  }
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
