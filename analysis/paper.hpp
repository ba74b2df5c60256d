// The paper's printed numbers (Tables 1–5 of Chen et al., ICLR 2024), read
// from analysis/paper_tables.toml (compiled into cir-report) or from a file
// given with --paper.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cir::analysis {

// One printed row of a paper table.
struct PaperRow {
  std::string label{};  // "baseline (L_info)", "ours", "γ0 = 0.5", "MRN", …
  // The grid point the row was measured at, as training keys and values
  // ("loss.gamma0" → inf). Empty for the rows of other methods.
  std::map<std::string, double> point{};
  std::vector<double> values{};  // aligned with PaperTable::columns, as printed
  bool other_method = false;     // a row from another paper, shown for orientation only
};

// One table as printed. Column names: "rK" (Recall@K), "<split>_rK" (one
// FashionIQ subset), "average" ((R@10 + R@50) / 2) and "average_rK" (mean
// over the subsets).
struct PaperTable {
  std::string name{};  // "table1", "table2_shoes", "table2_fashion200k", "table3", "table4", "table5"
  std::string title{};
  std::vector<std::string> columns{};
  std::vector<PaperRow> rows{};

  // The row measured at `point` (every key of the row's point equal), or null.
  const PaperRow* find(const std::map<std::string, double>& point) const;
};

class PaperTables {
 public:
  // The copy compiled into the program.
  static PaperTables builtin();
  // Reads `path`; throws cir::Error naming the file, line and key.
  static PaperTables from_file(const std::filesystem::path& path);
  // Parses TOML text; `source` names it in errors.
  static PaperTables parse(const std::string& text, const std::string& source);

  // Null when the file has no such table.
  const PaperTable* find(const std::string& name) const;
  const std::vector<PaperTable>& tables() const { return tables_; }

 private:
  std::vector<PaperTable> tables_{};
};

}  // namespace cir::analysis
