#include "analysis/render.hpp"

#include <fmt/format.h>

#include <cmath>

#include "common/error.hpp"

namespace cir::analysis {

Format parse_format(const std::string& text) {
  if (text == "markdown" || text == "md") return Format::markdown;
  if (text == "latex" || text == "tex") return Format::latex;
  if (text == "csv") return Format::csv;
  throw Error(fmt::format("unknown format '{}'", text), Where{.key = "--format"},
              "use markdown, latex or csv");
}

namespace {

// Two decimals, without a negative zero.
std::string fixed2(double v) {
  const double rounded = std::round(v * 100.0) / 100.0;
  return fmt::format("{:.2f}", rounded == 0.0 ? 0.0 : rounded);
}

std::string signed2(double v) {
  const double rounded = std::round(v * 100.0) / 100.0;
  return fmt::format("{:+.2f}", rounded == 0.0 ? 0.0 : rounded);
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string latex_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
      case '%':
      case '$':
      case '#':
      case '_':
      case '{':
      case '}':
        out += '\\';
        out += c;
        break;
      case '~':
        out += "\\textasciitilde{}";
        break;
      case '^':
        out += "\\textasciicircum{}";
        break;
      case '\\':
        out += "\\textbackslash{}";
        break;
      default:
        out += c;
    }
  }
  out = replace_all(out, "γ0", "$\\gamma_0$");
  out = replace_all(out, "∞", "$\\infty$");
  out = replace_all(out, "—", "---");
  out = replace_all(out, "±", "$\\pm$");
  out = replace_all(out, "×", "$\\times$");
  out = replace_all(out, "−", "$-$");
  out = replace_all(out, "†", "$^\\dagger$");
  return out;
}

struct Style {
  std::string missing, plus_minus, dagger;
  std::string reproduced, below, above, too_few, differs;  // the marks of stats.hpp's verdicts
  std::string delta;
  std::string (*bold)(const std::string&);
  std::string (*aside)(const std::string&);
  std::string (*diff)(double);
};

const Style kMarkdown{
    .missing = "—",
    .plus_minus = " ± ",
    .dagger = "†",
    .reproduced = "✓",
    .below = "↓",
    .above = "↑",
    .too_few = "?",
    .differs = "‡",
    .delta = "Δ",
    .bold = [](const std::string& s) { return "**" + s + "**"; },
    .aside = [](const std::string& s) { return " (" + s + ")"; },
    .diff = [](double d) { return signed2(d); },
};

const Style kLatex{
    .missing = "--",
    .plus_minus = " $\\pm$ ",
    .dagger = "$^\\dagger$",
    .reproduced = "\\checkmark",
    .below = "$\\downarrow$",
    .above = "$\\uparrow$",
    .too_few = "?",
    .differs = "$^\\ddagger$",
    .delta = "$\\Delta$",
    .bold = [](const std::string& s) { return "\\textbf{" + s + "}"; },
    .aside = [](const std::string& s) { return " {\\scriptsize (" + s + ")}"; },
    .diff =
        [](double d) {
          const std::string s = signed2(d);
          return fmt::format("${}${}", s.substr(0, 1), s.substr(1));
        },
};

std::string verdict_mark(Verdict verdict, const Style& style) {
  switch (verdict) {
    case Verdict::none:
      return "";
    case Verdict::too_few_seeds:
      return style.too_few;
    case Verdict::reproduced:
      return style.reproduced;
    case Verdict::below:
      return style.below;
    case Verdict::above:
      return style.above;
  }
  return "";
}

std::string cell_text(const Cell& cell, bool other_method, bool with_paper, const Style& style,
                      bool effects = false) {
  if (other_method) return cell.paper ? fixed2(*cell.paper) : style.missing;
  std::string out;
  if (cell.ours) {
    out = cell.best ? style.bold(fixed2(cell.ours->mean)) : fixed2(cell.ours->mean);
    if (cell.ours->n > 1) out += style.plus_minus + fixed2(cell.ours->std);
    if (cell.versus == VersusBaseline::higher || cell.versus == VersusBaseline::lower) out += style.differs;
    if (effects && cell.versus_difference) {
      std::string effect = style.delta + " " + style.diff(*cell.versus_difference);
      if (cell.versus_test) {
        effect += fmt::format(" [{}, {}]", style.diff(cell.versus_test->interval.low),
                              style.diff(cell.versus_test->interval.high));
      }
      out += style.aside(effect);
    }
  } else {
    out = style.missing;
  }
  if (with_paper && cell.paper) {
    std::string paper = fixed2(*cell.paper) + (cell.flagged ? style.dagger : "");
    if (const auto d = cell.difference()) paper += ", " + style.diff(*d);
    if (const std::string mark = verdict_mark(cell.verdict, style); !mark.empty()) paper += " " + mark;
    out += style.aside(paper);
  }
  return out;
}

// Selection optimism as rows of text (Table::rows' keys, then one field per
// column), with its caption; nothing when every value is zero or missing.
struct OptimismRows {
  std::string caption;
  std::vector<std::vector<std::string>> rows;
};

OptimismRows optimism_rows(const Table& table) {
  bool any = false, other = false;
  for (const Row& r : table.rows) {
    for (const Cell& c : r.cells) {
      any = any || (c.optimism_last && *c.optimism_last != 0.0) ||
            (c.optimism_other && *c.optimism_other != 0.0);
      other = other || c.optimism_other.has_value();
    }
  }
  if (!any) return {};
  OptimismRows out;
  out.caption = fmt::format(
      "Selection optimism: the reported epoch's value minus the last evaluated epoch's{}, mean over seeds.",
      other ? fmt::format(" (after the slash: minus the value at the epoch the same rule picks on the {} "
                          "split alone)",
                          kSelectionSplit)
            : "");
  for (const Row& r : table.rows) {
    if (r.other_method) continue;
    std::vector<std::string> fields = r.keys;
    bool filled = false;
    for (const Cell& c : r.cells) {
      std::string text = c.optimism_last ? signed2(*c.optimism_last) : "—";
      if (other) text += " / " + (c.optimism_other ? signed2(*c.optimism_other) : std::string("—"));
      filled = filled || c.optimism_last || c.optimism_other;
      fields.push_back(text);
    }
    if (filled) out.rows.push_back(std::move(fields));
  }
  return out;
}

std::vector<std::string> header_of(const Table& table) {
  std::vector<std::string> header = table.key_headers;
  for (const Column& c : table.columns) header.push_back(c.group.empty() ? c.name : c.group + " " + c.name);
  return header;
}

std::string markdown_rows(const std::vector<std::string>& header, std::size_t keys,
                          const std::vector<std::vector<std::string>>& rows) {
  std::string out = fmt::format("| {} |\n|", fmt::join(header, " | "));
  for (std::size_t i = 0; i < header.size(); ++i) out += i < keys ? "---|" : "--:|";
  out += "\n";
  for (const auto& r : rows) out += fmt::format("| {} |\n", fmt::join(r, " | "));
  return out;
}

bool has_groups(const Table& table) {
  for (const Column& c : table.columns) {
    if (!c.group.empty()) return true;
  }
  return false;
}

}  // namespace

std::string render_markdown(const Table& table) {
  std::string out = fmt::format("### {}\n\n", table.title);
  for (const std::string& note : table.notes) out += note + "\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const Row& row : table.rows) {
    std::vector<std::string> cells = row.keys;
    for (const Cell& c : row.cells)
      cells.push_back(cell_text(c, row.other_method, table.with_paper, kMarkdown, table.effects));
    rows.push_back(std::move(cells));
  }
  out += markdown_rows(header_of(table), table.key_headers.size(), rows);
  if (const OptimismRows optimism = optimism_rows(table); !optimism.rows.empty()) {
    out += fmt::format("\n{}\n\n", optimism.caption);
    out += markdown_rows(header_of(table), table.key_headers.size(), optimism.rows);
  }
  if (!table.footnotes.empty()) {
    out += "\n";
    for (const std::string& f : table.footnotes) out += "- " + f + "\n";
  }
  return out;
}

std::string render_latex(const Table& table) {
  std::string out;
  for (const std::string& note : table.notes) out += "% " + note + "\n";
  out += "% \\checkmark needs \\usepackage{amssymb}, the rules \\usepackage{booktabs}.\n";
  const std::size_t keys = table.key_headers.size();
  out += "\\begin{table}[t]\n  \\centering\n";
  out += fmt::format("  \\caption{{{}}}\n", latex_escape(table.title));
  out += fmt::format("  \\begin{{tabular}}{{{}{}}}\n", std::string(keys, 'l'),
                     std::string(table.columns.size(), 'r'));
  out += "    \\toprule\n";
  if (has_groups(table)) {
    std::vector<std::string> cells(keys, "");
    std::string rules;
    for (std::size_t i = 0; i < table.columns.size();) {
      std::size_t j = i;
      while (j < table.columns.size() && table.columns[j].group == table.columns[i].group) ++j;
      cells.push_back(
          fmt::format("\\multicolumn{{{}}}{{c}}{{{}}}", j - i, latex_escape(table.columns[i].group)));
      if (!table.columns[i].group.empty()) {
        rules += fmt::format(" \\cmidrule(lr){{{}-{}}}", keys + i + 1, keys + j);
      }
      i = j;
    }
    out += fmt::format("    {} \\\\\n   {}\n", fmt::join(cells, " & "), rules);
  }
  std::vector<std::string> header;
  for (const std::string& k : table.key_headers) header.push_back(latex_escape(k));
  for (const Column& c : table.columns) header.push_back(latex_escape(c.name));
  out += fmt::format("    {} \\\\\n    \\midrule\n", fmt::join(header, " & "));
  for (const Row& row : table.rows) {
    std::vector<std::string> cells;
    for (const std::string& k : row.keys) cells.push_back(latex_escape(k));
    for (const Cell& c : row.cells)
      cells.push_back(cell_text(c, row.other_method, table.with_paper, kLatex, table.effects));
    out += fmt::format("    {} \\\\\n", fmt::join(cells, " & "));
  }
  out += "    \\bottomrule\n  \\end{tabular}\n\\end{table}\n";
  if (const OptimismRows optimism = optimism_rows(table); !optimism.rows.empty()) {
    out += "% " + optimism.caption + "\n";
    out += fmt::format("% {}\n", fmt::join(header_of(table), " | "));
    for (const auto& r : optimism.rows) out += fmt::format("% {}\n", fmt::join(r, " | "));
  }
  for (const std::string& f : table.footnotes) out += "% " + f + "\n";
  return out;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  return fmt::format("\"{}\"", replace_all(text, "\"", "\"\""));
}

namespace {

// Ten significant digits: exact for printed values, free of binary noise for computed ones.
std::string number(double v) { return fmt::format("{:.10g}", v); }

std::string optional_number(const std::optional<double>& v) { return v ? number(*v) : ""; }

}  // namespace

std::string render_csv(const Table& table) {
  std::vector<std::string> header;
  for (const std::string& k : table.key_headers) header.push_back(csv_field(k));
  for (const char* h : {"group",           "column",          "ours_mean",
                        "ours_std",        "ours_n",          "paper",
                        "paper_reference", "difference",      "best",
                        "flagged",         "ci_low",          "ci_high",
                        "verdict",         "vs_baseline",     "vs_baseline_p",
                        "optimism_last",   "optimism_other",  "vs_baseline_difference",
                        "vs_baseline_low", "vs_baseline_high"}) {
    header.emplace_back(h);
  }
  std::string out = fmt::format("{}\n", fmt::join(header, ","));
  for (const Row& row : table.rows) {
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
      const Cell& c = row.cells[i];
      std::vector<std::string> fields;
      for (const std::string& k : row.keys) fields.push_back(csv_field(replace_all(k, "∞", "inf")));
      fields.push_back(csv_field(table.columns[i].group));
      fields.push_back(csv_field(table.columns[i].id));
      fields.push_back(c.ours ? number(c.ours->mean) : "");
      fields.push_back(c.ours && c.ours->n > 1 ? number(c.ours->std) : "");
      fields.push_back(fmt::format("{}", c.ours ? c.ours->n : 0));
      fields.push_back(optional_number(c.paper));
      fields.push_back(optional_number(c.paper_reference));
      fields.push_back(optional_number(c.difference()));
      fields.push_back(c.best ? "1" : "0");
      fields.push_back(c.flagged ? "1" : "0");
      const auto interval = c.interval();
      fields.push_back(interval ? number(interval->low) : "");
      fields.push_back(interval ? number(interval->high) : "");
      fields.push_back(csv_field(to_string(c.verdict)));
      fields.push_back(csv_field(to_string(c.versus)));
      fields.push_back(c.versus_test ? number(c.versus_test->p) : "");
      fields.push_back(optional_number(c.optimism_last));
      fields.push_back(optional_number(c.optimism_other));
      fields.push_back(optional_number(c.versus_difference));
      fields.push_back(c.versus_test ? number(c.versus_test->interval.low) : "");
      fields.push_back(c.versus_test ? number(c.versus_test->interval.high) : "");
      out += fmt::format("{}\n", fmt::join(fields, ","));
    }
  }
  return out;
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

// Markdown's marks, with HTML's emphasis.
const Style kHtml = [] {
  Style style = kMarkdown;
  style.bold = [](const std::string& s) { return "<strong>" + s + "</strong>"; };
  style.aside = [](const std::string& s) { return " <span class=\"paper\">(" + s + ")</span>"; };
  return style;
}();

// What a cell's marks mean, for its tooltip.
std::string cell_title(const Cell& cell) {
  std::vector<std::string> parts;
  if (const auto i = cell.interval()) {
    parts.push_back(
        fmt::format("95% interval [{}, {}] over {} seeds", fixed2(i->low), fixed2(i->high), cell.ours->n));
  }
  if (cell.verdict != Verdict::none) parts.push_back("paper: " + to_string(cell.verdict));
  if (cell.versus_test) {
    parts.push_back(
        fmt::format("vs baseline: {} (Welch p = {:.3g})", to_string(cell.versus), cell.versus_test->p));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

std::string html_rows(const std::vector<std::string>& header, std::size_t keys,
                      const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<thead><tr>";
  for (std::size_t i = 0; i < header.size(); ++i)
    out += fmt::format("<th{}>{}</th>", i < keys ? "" : " class=\"num\"", html_escape(header[i]));
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& r : rows) {
    out += "<tr>";
    for (std::size_t i = 0; i < r.size(); ++i) out += i < keys ? "<th scope=\"row\">" + r[i] + "</th>" : r[i];
    out += "</tr>\n";
  }
  return out + "</tbody>";
}

}  // namespace

std::string render_html_table(const Table& table) {
  std::string out = fmt::format("<h2>{}</h2>\n", html_escape(table.title));
  for (const std::string& note : table.notes)
    out += fmt::format("<p class=\"note\">{}</p>\n", html_escape(note));
  const std::size_t keys = table.key_headers.size();
  std::vector<std::vector<std::string>> rows;
  for (const Row& row : table.rows) {
    std::vector<std::string> cells;
    for (const std::string& k : row.keys) cells.push_back(html_escape(k));
    for (const Cell& c : row.cells) {
      const std::string title = row.other_method ? "" : cell_title(c);
      cells.push_back(fmt::format("<td class=\"num\" data-verdict=\"{}\" data-versus=\"{}\"{}>{}</td>",
                                  to_string(c.verdict), to_string(c.versus),
                                  title.empty() ? "" : " title=\"" + html_escape(title) + "\"",
                                  cell_text(c, row.other_method, table.with_paper, kHtml, table.effects)));
    }
    rows.push_back(std::move(cells));
  }
  out += "<div class=\"scroll\"><table class=\"results\">\n" + html_rows(header_of(table), keys, rows) +
         "\n</table></div>\n";
  if (const OptimismRows optimism = optimism_rows(table); !optimism.rows.empty()) {
    std::vector<std::vector<std::string>> cells;
    for (const auto& r : optimism.rows) {
      std::vector<std::string> row;
      for (std::size_t i = 0; i < r.size(); ++i)
        row.push_back(i < keys ? html_escape(r[i]) : "<td class=\"num\">" + html_escape(r[i]) + "</td>");
      cells.push_back(std::move(row));
    }
    out += fmt::format("<p class=\"note\">{}</p>\n", html_escape(optimism.caption));
    out += "<div class=\"scroll\"><table class=\"optimism\">\n" + html_rows(header_of(table), keys, cells) +
           "\n</table></div>\n";
  }
  if (!table.footnotes.empty()) {
    out += "<ul class=\"footnotes\">\n";
    for (const std::string& f : table.footnotes) out += "<li>" + html_escape(f) + "</li>\n";
    out += "</ul>\n";
  }
  return out;
}

std::string render(const Table& table, Format format) {
  switch (format) {
    case Format::markdown:
      return render_markdown(table);
    case Format::latex:
      return render_latex(table);
    case Format::csv:
      return render_csv(table);
  }
  return "";
}

}  // namespace cir::analysis
