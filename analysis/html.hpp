// cir-report --html: one self-contained page (no network, no script) with
// the table and its verdicts, the figures as inline SVG, the sweep's status
// and its receipt, laid out for a laptop and a phone alike.
#pragma once

#include <string>
#include <vector>

#include "analysis/receipt.hpp"
#include "analysis/table.hpp"

namespace cir::analysis {

struct Figure {
  std::string name;  // "loss", "recall", "vs-loss.gamma0"
  std::string svg;   // the <svg> element (no XML prolog)
};

// `status` is render_status()'s text.
std::string render_html_page(const Table& table, const std::vector<Figure>& figures,
                             const std::string& status, const Receipt& receipt,
                             const std::string& figures_note);

// An SVG file's <svg> element, without what precedes it (the XML prolog).
std::string inline_svg(const std::string& file_text);

}  // namespace cir::analysis
