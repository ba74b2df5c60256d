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
  std::string (*bold)(const std::string&);
  std::string (*aside)(const std::string&);
  std::string (*diff)(double);
};

const Style kMarkdown{
    .missing = "—",
    .plus_minus = " ± ",
    .dagger = "†",
    .bold = [](const std::string& s) { return "**" + s + "**"; },
    .aside = [](const std::string& s) { return " (" + s + ")"; },
    .diff = [](double d) { return signed2(d); },
};

const Style kLatex{
    .missing = "--",
    .plus_minus = " $\\pm$ ",
    .dagger = "$^\\dagger$",
    .bold = [](const std::string& s) { return "\\textbf{" + s + "}"; },
    .aside = [](const std::string& s) { return " {\\scriptsize (" + s + ")}"; },
    .diff =
        [](double d) {
          const std::string s = signed2(d);
          return fmt::format("${}${}", s.substr(0, 1), s.substr(1));
        },
};

std::string cell_text(const Cell& cell, bool other_method, bool with_paper, const Style& style) {
  if (other_method) return cell.paper ? fixed2(*cell.paper) : style.missing;
  std::string out;
  if (cell.ours) {
    out = cell.best ? style.bold(fixed2(cell.ours->mean)) : fixed2(cell.ours->mean);
    if (cell.ours->n > 1) out += style.plus_minus + fixed2(cell.ours->std);
  } else {
    out = style.missing;
  }
  if (with_paper && cell.paper) {
    std::string paper = fixed2(*cell.paper) + (cell.flagged ? style.dagger : "");
    if (const auto d = cell.difference()) paper += ", " + style.diff(*d);
    out += style.aside(paper);
  }
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
  std::vector<std::string> header = table.key_headers;
  for (const Column& c : table.columns) header.push_back(c.group.empty() ? c.name : c.group + " " + c.name);
  out += fmt::format("| {} |\n|", fmt::join(header, " | "));
  for (std::size_t i = 0; i < header.size(); ++i) out += i < table.key_headers.size() ? "---|" : "--:|";
  out += "\n";
  for (const Row& row : table.rows) {
    std::vector<std::string> cells = row.keys;
    for (const Cell& c : row.cells)
      cells.push_back(cell_text(c, row.other_method, table.with_paper, kMarkdown));
    out += fmt::format("| {} |\n", fmt::join(cells, " | "));
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
    for (const Cell& c : row.cells) cells.push_back(cell_text(c, row.other_method, table.with_paper, kLatex));
    out += fmt::format("    {} \\\\\n", fmt::join(cells, " & "));
  }
  out += "    \\bottomrule\n  \\end{tabular}\n\\end{table}\n";
  for (const std::string& f : table.footnotes) out += "% " + f + "\n";
  return out;
}

namespace {

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  return fmt::format("\"{}\"", replace_all(text, "\"", "\"\""));
}

// Ten significant digits: exact for printed values, free of binary noise for computed ones.
std::string number(double v) { return fmt::format("{:.10g}", v); }

std::string optional_number(const std::optional<double>& v) { return v ? number(*v) : ""; }

}  // namespace

std::string render_csv(const Table& table) {
  std::vector<std::string> header;
  for (const std::string& k : table.key_headers) header.push_back(csv_field(k));
  for (const char* h : {"group", "column", "ours_mean", "ours_std", "ours_n", "paper", "paper_reference",
                        "difference", "best", "flagged"}) {
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
      out += fmt::format("{}\n", fmt::join(fields, ","));
    }
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
