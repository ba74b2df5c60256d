// Report tables: the layouts of the paper's Tables 1–5 (our value beside the
// paper's, with the difference) and a generic table for any sweep. Built
// from a SweepData, rendered by render.hpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/paper.hpp"
#include "analysis/stats.hpp"
#include "analysis/sweep_data.hpp"

namespace cir::analysis {

struct Cell {
  std::optional<Stat> ours{};     // over the finished trials (seeds) of the cell's grid point
  std::optional<double> paper{};  // as printed
  // The value the difference is taken against: the printed value, or its
  // recomputation when the printed value is an average that disagrees with
  // the row's own numbers (then `flagged`).
  std::optional<double> paper_reference{};
  bool flagged = false;
  bool best = false;  // the highest of our values in its column
  // Ours against paper_reference (stats.hpp), and against the same column of
  // the table's baseline row with the test that decided it.
  Verdict verdict = Verdict::none;
  VersusBaseline versus = VersusBaseline::none;
  std::optional<Welch> versus_test{};
  std::optional<double> versus_difference{};  // ours − the baseline row's, when both exist
  // Selection optimism, mean over seeds: the reported epoch's value minus
  // the last evaluated epoch's, and minus the value at the epoch the same
  // rule picks on kSelectionSplit alone (where the trials have that split
  // beside the ones reported).
  std::optional<double> optimism_last{}, optimism_other{};

  // ours − paper_reference, when both exist.
  std::optional<double> difference() const;
  // The 95% t-interval of ours (2 seeds or more).
  std::optional<Interval> interval() const;
};

// The held-out split that selection optimism compares against.
inline constexpr const char* kSelectionSplit = "val";

struct Column {
  std::string group{};  // "Dress", "w1 (w2 = 1)", or "" for none
  std::string name{};   // "R@10", "Avg", …
  std::string id{};     // "dress_r10", "average", … (CSV)
};

struct Row {
  std::vector<std::string> keys{};  // the row's leading columns (a label or swept values)
  std::vector<Cell> cells{};        // one per Table::columns
  bool other_method = false;        // a paper-only row of another method
};

struct Table {
  std::string name{};                      // "table5", "generic", …
  std::string title{};                     // "Table 5: initial balance weight γ0 (Shoes)"
  std::vector<std::string> key_headers{};  // headers of Row::keys: "γ0", "method", swept keys
  std::vector<Column> columns{};
  std::vector<Row> rows{};
  bool with_paper = false;                // the cells carry the paper's values
  std::optional<std::size_t> baseline{};  // the row the others are tested against
  bool effects = false;  // the cells show their difference from the baseline row, with its interval
  std::vector<std::string> notes{};  // what the table shows (sweep, selection, seeds, legend)
  // Splits evaluated on fewer queries than their protocol (data.missing_images
  // = "skip"), flags, missing and partial grid points, points not shown.
  std::vector<std::string> footnotes{};
};

struct TableOptions {
  std::string table{};  // "" = chosen from the sweep; a name of table_names()
  Selection selection = Selection::best_r10;
  bool paper = true;    // put the paper's values in the cells (paper tables only)
  bool others = false;  // add the paper's rows of other methods (Tables 1 and 2)
};

// Every name --table accepts: table1, table2_shoes, table2_fashion200k,
// table3, table4, table5, discrepancy (each paper-vs-code switch's effect:
// loss.augmenter, loss.uncertainty, train.schedule,
// data.fashioniq.protocol; never chosen on its own), generic.
std::vector<std::string> table_names();

// The paper table whose layout fits the sweep's swept parameters and
// dataset, or "generic".
std::string choose_table(const SweepData& sweep);

// Builds the table. Throws cir::Error (ExitCode::usage) for an unknown
// table name, a paper table that cannot show a swept key, or a sweep with
// no trials.
Table build_table(const SweepData& sweep, const PaperTables& paper, const TableOptions& options);

}  // namespace cir::analysis
