#include "analysis/html.hpp"

#include <fmt/format.h>

#include "analysis/render.hpp"

namespace cir::analysis {

namespace {

// Readable from 320 px up: the tables scroll sideways inside their own box,
// the figures scale to the width, the text keeps a line length.
constexpr const char* kStyle = R"(
:root { color-scheme: light; --ink: #1b1f24; --muted: #57606a; --rule: #d0d7de; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 78rem; padding: 1rem 1.25rem 3rem; color: var(--ink);
       font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
h1 { font-size: 1.6rem; margin: .5rem 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--rule); padding-bottom: .25rem; }
nav a { margin-right: 1rem; color: var(--accent); }
p.note, ul.footnotes, .muted { color: var(--muted); font-size: .92rem; max-width: 60rem; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; border: 1px solid var(--rule); border-radius: 6px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; width: max-content; min-width: 100%; }
th, td { padding: .35rem .6rem; border-bottom: 1px solid var(--rule); text-align: left; white-space: nowrap; }
.num { text-align: right; }
thead th { background: #f6f8fa; position: sticky; top: 0; }
tbody tr:nth-child(even) { background: #fafbfc; }
.paper { color: var(--muted); font-size: .88em; }
td[data-verdict="reproduced"] .paper { color: #1a7f37; }
td[data-verdict="below"] .paper, td[data-verdict="above"] .paper { color: #b35900; }
td[data-versus="higher"], td[data-versus="lower"] { background: #fff8c5; }
figure { margin: 1rem 0; }
figure svg { width: 100%; height: auto; max-width: 60rem; display: block; border: 1px solid var(--rule); border-radius: 6px; }
figcaption { color: var(--muted); font-size: .9rem; }
pre { overflow-x: auto; background: #f6f8fa; padding: .75rem; border-radius: 6px; font-size: .85rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .88rem; }
@media (max-width: 40rem) {
  body { padding: .5rem .6rem 2rem; font-size: 15px; }
  h1 { font-size: 1.3rem; }
  th, td { padding: .25rem .4rem; }
  .paper { display: block; }
  dl { grid-template-columns: 1fr; }
  dt { margin-top: .5rem; }
}
)";

}  // namespace

std::string inline_svg(const std::string& file_text) {
  const std::size_t start = file_text.find("<svg");
  return start == std::string::npos ? std::string() : file_text.substr(start);
}

std::string render_html_page(const Table& table, const std::vector<Figure>& figures,
                             const std::string& status, const Receipt& receipt,
                             const std::string& figures_note) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += fmt::format("<title>{} — cir-report</title>\n<style>{}</style>\n</head>\n<body>\n",
                     html_escape(receipt.sweep), kStyle);
  out += fmt::format("<header><h1>Sweep {}</h1><p class=\"muted\">{} · cir-report</p>\n",
                     html_escape(receipt.sweep), html_escape(receipt.store));
  out +=
      "<nav><a href=\"#results\">Results</a><a href=\"#figures\">Figures</a><a href=\"#status\">Status</a>"
      "<a href=\"#receipt\">Receipt</a></nav></header>\n";
  out += "<main>\n<section id=\"results\">\n" + render_html_table(table) + "</section>\n";
  out += "<section id=\"figures\">\n<h2>Figures</h2>\n";
  if (!figures_note.empty()) out += fmt::format("<p class=\"note\">{}</p>\n", html_escape(figures_note));
  for (const Figure& f : figures) {
    out += fmt::format("<figure id=\"figure-{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
                       html_escape(f.name), f.svg, html_escape(f.name));
  }
  out += "</section>\n";
  out += fmt::format("<section id=\"status\">\n<h2>Status</h2>\n<pre>{}</pre>\n</section>\n",
                     html_escape(status));
  out += "<section id=\"receipt\">\n<h2>Receipt</h2>\n<dl>\n";
  for (const auto& [name, value] : receipt_entries(receipt))
    out += fmt::format("<dt>{}</dt><dd>{}</dd>\n", html_escape(name), html_escape(value));
  out += "</dl>\n</section>\n</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace cir::analysis
