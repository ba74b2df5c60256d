#include "analysis/paper.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "common/keys.hpp"

namespace cir::analysis {

// The text of analysis/paper_tables.toml, generated at build time.
extern const char* const kBuiltinPaperTables;

namespace {

constexpr const char* kHint = "the file follows analysis/paper_tables.toml: [table1] … [table5]";

class Parser {
 public:
  Parser(const toml::table& root, std::string source) : root_(root), source_(std::move(source)) {}

  [[noreturn]] void fail(const toml::node* node, const std::string& key, const std::string& what) const {
    Where where{.file = source_, .key = key};
    if (node != nullptr) {
      where.line = static_cast<int>(node->source().begin.line);
      where.column = static_cast<int>(node->source().begin.column);
    }
    throw Error(what, where, kHint);
  }

  const toml::node* node(const std::string& dotted) const { return root_.at_path(dotted).node(); }

  const toml::table& table(const std::string& key) const {
    const toml::node* n = node(key);
    if (n == nullptr || !n->is_table()) fail(n, key, n == nullptr ? "missing table" : "expected a table");
    return *n->as_table();
  }

  std::vector<double> numbers(const toml::node* n, const std::string& key) const {
    if (n == nullptr || !n->is_array())
      fail(n, key, n == nullptr ? "missing" : "expected an array of numbers");
    std::vector<double> out;
    for (const toml::node& item : *n->as_array()) {
      const std::optional<double> v = item.value<double>();
      if (!v) fail(&item, key, "expected a number");
      out.push_back(*v);
    }
    return out;
  }

  std::vector<double> numbers(const std::string& key) const { return numbers(node(key), key); }

  std::vector<std::string> strings(const std::string& key) const {
    const toml::node* n = node(key);
    if (n == nullptr || !n->is_array())
      fail(n, key, n == nullptr ? "missing" : "expected an array of strings");
    std::vector<std::string> out;
    for (const toml::node& item : *n->as_array()) {
      const std::optional<std::string> v = item.value<std::string>();
      if (!v) fail(&item, key, "expected a string");
      out.push_back(*v);
    }
    return out;
  }

  // values of a row, checked against the table's column count.
  std::vector<double> row(const toml::node* n, const std::string& key, std::size_t columns) const {
    std::vector<double> values = numbers(n, key);
    if (values.size() != columns) {
      fail(n, key, fmt::format("expected {} values (one per column), found {}", columns, values.size()));
    }
    return values;
  }

  // Tables 1 and 2: baseline, ours, and other methods.
  PaperTable methods(const std::string& name, const std::string& title) const {
    PaperTable t{.name = name, .title = title, .columns = strings(name + ".columns")};
    table(name);
    t.rows.push_back({.label = "baseline",
                      .point = {{keys::loss::gamma0.name, INFINITY}},
                      .values = row(node(name + ".baseline"), name + ".baseline", t.columns.size())});
    t.rows.push_back({.label = "ours",
                      .point = {{keys::loss::gamma0.name, 1.0}},
                      .values = row(node(name + ".ours"), name + ".ours", t.columns.size())});
    if (node(name + ".others") != nullptr) {
      // TOML++ iterates keys sorted; the paper's order is the file's.
      std::vector<std::pair<const toml::key*, const toml::node*>> others;
      for (const auto& [label, values] : table(name + ".others")) others.emplace_back(&label, &values);
      std::stable_sort(others.begin(), others.end(), [](const auto& a, const auto& b) {
        return a.first->source().begin < b.first->source().begin;
      });
      for (const auto& [label, values] : others) {
        const std::string key = fmt::format("{}.others.\"{}\"", name, label->str());
        t.rows.push_back({.label = std::string(label->str()),
                          .values = row(values, key, t.columns.size()),
                          .other_method = true});
      }
    }
    return t;
  }

  PaperTable table3() const {
    PaperTable t{.name = "table3",
                 .title = "Dropout vs. uncertainty regularisation on Shoes",
                 .columns = strings("table3.columns")};
    const toml::node* rows = node("table3.rows");
    if (rows == nullptr || !rows->is_array()) fail(rows, "table3.rows", "expected an array of rows");
    for (const toml::node& item : *rows->as_array()) {
      const toml::table* r = item.as_table();
      if (r == nullptr)
        fail(&item, "table3.rows", "expected a table { label, gamma0, text_dropout, values }");
      const auto label = (*r)["label"].value<std::string>();
      const auto gamma0 = (*r)["gamma0"].value<double>();
      const auto dropout = (*r)["text_dropout"].value<double>();
      if (!label || !gamma0 || !dropout)
        fail(&item, "table3.rows", "a row needs label, gamma0 and text_dropout");
      t.rows.push_back(
          {.label = *label,
           .point = {{keys::loss::gamma0.name, *gamma0}, {keys::model::text::dropout.name, *dropout}},
           .values = row((*r).get("values"), "table3.rows.values", t.columns.size())});
    }
    return t;
  }

  PaperTable table4() const {
    PaperTable t{
        .name = "table4", .title = "Noise scales w1 and w2 on Shoes", .columns = strings("table4.columns")};
    const std::vector<double> scales = numbers("table4.scales");
    for (const char* half : {"w1_varies", "w2_varies"}) {
      const std::string key = fmt::format("table4.{}", half);
      const toml::node* n = node(key);
      if (n == nullptr || !n->is_array() || n->as_array()->size() != scales.size()) {
        fail(n, key, fmt::format("expected {} rows, one per scale", scales.size()));
      }
      const bool w1 = std::string(half) == "w1_varies";
      for (std::size_t i = 0; i < scales.size(); ++i) {
        t.rows.push_back({.label = fmt::format("{} = {}", w1 ? "w1" : "w2", scales[i]),
                          .point = {{keys::loss::w1.name, w1 ? scales[i] : 1.0},
                                    {keys::loss::w2.name, w1 ? 1.0 : scales[i]}},
                          .values = row(n->as_array()->get(i), key, t.columns.size())});
      }
    }
    return t;
  }

  PaperTable table5() const {
    PaperTable t{.name = "table5",
                 .title = "Initial balance weight γ0 on Shoes",
                 .columns = strings("table5.columns")};
    const std::vector<double> gamma0 = numbers("table5.gamma0");
    const toml::node* n = node("table5.values");
    if (n == nullptr || !n->is_array() || n->as_array()->size() != gamma0.size()) {
      fail(n, "table5.values", fmt::format("expected {} rows, one per gamma0", gamma0.size()));
    }
    for (std::size_t i = 0; i < gamma0.size(); ++i) {
      t.rows.push_back({.label = fmt::format("γ0 = {}", gamma0[i]),
                        .point = {{keys::loss::gamma0.name, gamma0[i]}},
                        .values = row(n->as_array()->get(i), "table5.values", t.columns.size())});
    }
    return t;
  }

 private:
  const toml::table& root_;
  std::string source_;
};

bool same_value(double a, double b) {
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(a));
}

}  // namespace

const PaperRow* PaperTable::find(const std::map<std::string, double>& point) const {
  for (const PaperRow& row : rows) {
    if (row.other_method || row.point.size() != point.size()) continue;
    bool all = true;
    for (const auto& [key, value] : row.point) {
      auto it = point.find(key);
      all = all && it != point.end() && same_value(it->second, value);
    }
    if (all) return &row;
  }
  return nullptr;
}

PaperTables PaperTables::parse(const std::string& text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw Error(std::string(e.description()),
                Where{.file = source,
                      .line = static_cast<int>(e.source().begin.line),
                      .column = static_cast<int>(e.source().begin.column)},
                kHint);
  }
  Parser p(root, source);
  PaperTables out;
  const toml::node* title = p.node("table1.title");
  out.tables_.push_back(p.methods("table1", title != nullptr ? title->value_or<std::string>("") : ""));
  out.tables_.push_back(p.methods("table2_shoes", "Results on Shoes"));
  out.tables_.push_back(p.methods("table2_fashion200k", "Results on Fashion200k"));
  out.tables_.push_back(p.table3());
  out.tables_.push_back(p.table4());
  out.tables_.push_back(p.table5());
  return out;
}

PaperTables PaperTables::builtin() { return parse(kBuiltinPaperTables, "analysis/paper_tables.toml"); }

PaperTables PaperTables::from_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    throw Error("cannot read the paper's tables", Where{.file = path.string()},
                "give a TOML file laid out like analysis/paper_tables.toml, or leave out --paper");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path.string());
}

const PaperTable* PaperTables::find(const std::string& name) const {
  for (const PaperTable& t : tables_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace cir::analysis
