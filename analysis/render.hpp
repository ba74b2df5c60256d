// Table output: Markdown (GitHub tables), LaTeX (booktabs) and CSV (long
// format: one line per cell, for pandas and spreadsheets).
#pragma once

#include <string>

#include "analysis/table.hpp"

namespace cir::analysis {

enum class Format { markdown, latex, csv };

// Parses "markdown" (or "md"), "latex" (or "tex"), "csv"; throws cir::Error otherwise.
Format parse_format(const std::string& text);

// The title, notes, table, the selection optimism (a second table, when
// not all zero) and footnotes as Markdown.
std::string render_markdown(const Table& table);
// A booktabs table environment; notes, selection optimism and footnotes as
// % comments.
std::string render_latex(const Table& table);
// One header line, then one line per cell: the row's keys, group, column,
// ours_mean, ours_std, ours_n, paper, paper_reference, difference, best,
// flagged, ci_low, ci_high (the 95% t-interval), verdict, vs_baseline,
// vs_baseline_p (stats.hpp), optimism_last, optimism_other,
// vs_baseline_difference, vs_baseline_low, vs_baseline_high (the Welch
// interval of the difference; Cell; empty fields where there is no value).
// Notes are not included.
std::string render_csv(const Table& table);

std::string render(const Table& table, Format format);

// A CSV field: as it is, or quoted (with "" for ") when it holds a comma,
// a quote or a newline.
std::string csv_field(const std::string& text);

// &, <, > and " as HTML entities.
std::string html_escape(const std::string& text);
// The title, notes, table (each cell's interval, verdict and test in its
// title attribute and in data-verdict / data-versus), selection optimism and
// footnotes as an HTML fragment (html.hpp wraps it in a page).
std::string render_html_table(const Table& table);

}  // namespace cir::analysis
