#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "analysis/table.hpp"
#include "common/error.hpp"
#include "common/keys.hpp"

#include <nlohmann/json.hpp>

namespace cir::analysis {

std::optional<double> Cell::difference() const {
  if (!ours || !paper_reference) return std::nullopt;
  return ours->mean - *paper_reference;
}

std::optional<Interval> Cell::interval() const {
  if (!ours) return std::nullopt;
  return t_interval(*ours);
}

std::vector<std::string> table_names() {
  return {"table1", "table2_shoes", "table2_fashion200k", "table3",
          "table4", "table5",       "discrepancy",        "generic"};
}

namespace {

constexpr const char* kGamma0 = keys::loss::gamma0.name;
constexpr const char* kDropout = keys::model::text::dropout.name;
constexpr const char* kW1 = keys::loss::w1.name;
constexpr const char* kW2 = keys::loss::w2.name;
// A printed average may be off by the rounding of its parts (±0.005).
constexpr double kPrintTolerance = 0.006;

using Point = std::map<std::string, double>;

// The contract's default of a key a paper table matches on (a number key).
double default_of(const std::string& key) { return keys::find(key)->number_default; }

bool same_value(double a, double b) {
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(a));
}

std::string number_label(double v) {
  if (std::isinf(v)) return v > 0 ? "∞" : "-∞";
  return fmt::format("{}", v);
}

// How a key is named in labels and headers.
std::string short_key(const std::string& key) {
  if (key == kGamma0) return "γ0";
  if (key == kDropout) return "dropout";
  if (key == kW1) return "w1";
  if (key == kW2) return "w2";
  return key;
}

std::string column_name(const std::string& id) {
  if (id == "average") return "Avg";
  const Metric m = Metric::from_column(id);
  return fmt::format("R@{}", m.k);
}

std::string column_group(const std::string& id) {
  const std::size_t underscore = id.find('_');
  if (underscore == std::string::npos) return "";
  std::string group = id.substr(0, underscore);
  group[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(group[0])));
  return group;
}

struct Measured {
  const TrialData* trial;
  TrialParams params;
  std::optional<EpochRecord> chosen{};  // the reported epoch of a finished trial
  std::optional<EpochRecord> last{};    // its last evaluated epoch
  // The epoch the same rule picks on kSelectionSplit alone, when the trial
  // has that split beside others.
  std::optional<EpochRecord> on_other{};
  std::size_t point = 0;  // index into Context::points
};

// The epoch `selection` picks when it looks at one split's recalls only.
std::optional<EpochRecord> select_on_split(const std::vector<EpochRecord>& epochs, Selection selection,
                                           const std::string& split) {
  std::vector<EpochRecord> only;
  bool others = false;
  for (const EpochRecord& e : epochs) {
    EpochRecord copy = e;
    std::erase_if(copy.recalls, [&](const RecallValue& r) {
      others = others || r.split != split;
      return r.split != split;
    });
    only.push_back(std::move(copy));
  }
  if (!others) return std::nullopt;
  const auto picked = select_epoch(only, selection);
  if (!picked) return std::nullopt;
  for (const EpochRecord& e : epochs) {
    if (e.epoch == picked->epoch) return e;
  }
  return std::nullopt;
}

struct GridPoint {
  std::vector<std::string> values{};  // JSON texts of the swept keys
  std::vector<std::size_t> trials{};  // indices into Context::trials
  bool shown = false;
};

class Context {
 public:
  Context(const SweepData& sweep, const PaperTables& paper, const TableOptions& options)
      : sweep_(sweep), paper_(paper), options_(options), swept_(swept_keys(sweep)) {
    if (sweep.trials.empty()) {
      throw Error("the store has no trials yet", Where{.file = sweep.source},
                  "start the sweep with cir-sweep, or check the path");
    }
    for (const TrialData& t : sweep.trials) {
      Measured m{.trial = &t, .params = TrialParams(t.row.spec), .chosen = std::nullopt};
      if (t.row.status == TrialStatus::done) {
        m.chosen = select_epoch(t.epochs, options.selection);
        m.last = select_epoch(t.epochs, Selection::last);
        m.on_other = select_on_split(t.epochs, options.selection, kSelectionSplit);
      }
      std::vector<std::string> values;
      for (const std::string& k : swept_) values.push_back(m.params.text(k));
      auto it = std::find_if(points_.begin(), points_.end(),
                             [&](const GridPoint& p) { return p.values == values; });
      if (it == points_.end()) {
        points_.push_back({.values = values});
        it = points_.end() - 1;
      }
      m.point = static_cast<std::size_t>(it - points_.begin());
      it->trials.push_back(trials_.size());
      trials_.push_back(std::move(m));
    }
    dataset_ = trials_.front().params.string(keys::data::dataset.name, "");
  }

  const std::vector<std::string>& swept() const { return swept_; }
  const std::string& dataset() const { return dataset_; }
  bool synthetic() const { return dataset_ == "synthetic"; }
  const TableOptions& options() const { return options_; }

  // Refuses a paper layout that cannot show every swept key.
  void require_keys(const std::string& table, const std::set<std::string>& allowed) const {
    for (const std::string& k : swept_) {
      if (!allowed.contains(k)) {
        throw Error(fmt::format("{} cannot show the swept key '{}'", table, k),
                    Where{.file = sweep_.source, .key = k},
                    "use --table generic, which has a column per swept key");
      }
    }
  }

  const PaperTable& paper_table(const std::string& name) const {
    const PaperTable* t = paper_.find(name);
    if (t == nullptr) throw Error(fmt::format("the paper's tables have no {}", name));
    return *t;
  }

  // The distinct values of a key over the trials (default when absent).
  std::vector<double> values_of(const std::string& key) const {
    std::vector<double> out;
    for (const Measured& m : trials_) {
      const double v = m.params.number(key, default_of(key));
      if (std::none_of(out.begin(), out.end(), [&](double o) { return same_value(o, v); })) out.push_back(v);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // The distinct points over `keys` that the trials were run at.
  std::vector<Point> points_of(const std::vector<std::string>& keys) const {
    std::vector<Point> out;
    for (const Measured& m : trials_) {
      Point p;
      for (const std::string& k : keys) p[k] = m.params.number(k, default_of(k));
      if (std::none_of(out.begin(), out.end(), [&](const Point& o) { return matches(o, p); }))
        out.push_back(p);
    }
    return out;
  }

  // A cell: our statistic at `point`, the paper's printed value beside it.
  Cell cell(const Point& point, const Metric& metric, const PaperTable* table, const PaperRow* row,
            std::size_t column) {
    Cell c;
    std::vector<const Measured*> trials;
    bool any = false;
    for (Measured& m : trials_) {
      if (!matches_trial(m, point)) continue;
      any = true;
      points_[m.point].shown = true;
      trials.push_back(&m);
    }
    measure(c, trials, metric);
    if (const std::string label = point_label(point);
        !any && row != nullptr && std::find(absent_.begin(), absent_.end(), label) == absent_.end()) {
      absent_.push_back(label);
    }
    if (table != nullptr && row != nullptr && options_.paper) {
      c.paper = row->values[column];
      c.paper_reference = c.paper;
      if (const auto again = recompute(*table, *row, column);
          again && std::abs(*again - *c.paper) > kPrintTolerance) {
        c.flagged = true;
        c.paper_reference = *again;
        flag_notes_.push_back(fmt::format(
            "† {} row {}, {}: the paper prints {:.2f}, but its own columns give {:.2f}; "
            "the difference is taken against {:.2f}.",
            table->name, row->label, column_name(table->columns[column]), *c.paper, *again, *again));
      }
    }
    return c;
  }

  std::size_t grid_points() const { return points_.size(); }
  const std::vector<std::string>& grid_values(std::size_t point) const { return points_[point].values; }

  // Our statistic over the trials of one grid point.
  Cell grid_cell(std::size_t point, const Metric& metric) {
    GridPoint& p = points_[point];
    p.shown = true;
    std::vector<const Measured*> trials;
    for (std::size_t i : p.trials) trials.push_back(&trials_[i]);
    Cell c;
    measure(c, trials, metric);
    return c;
  }

  // The cell of a paper table at `point` for the paper column `id`.
  Cell paper_cell(const PaperTable& table, const Point& point, const std::string& id) {
    const auto it = std::find(table.columns.begin(), table.columns.end(), id);
    const std::size_t column = static_cast<std::size_t>(it - table.columns.begin());
    return cell(point, Metric::from_column(id), &table, table.find(point), column);
  }

  std::string point_label(const Point& point) const {
    std::vector<std::string> parts;
    for (const std::string& k : swept_) {
      if (auto it = point.find(k); it != point.end())
        parts.push_back(short_key(k) + " = " + number_label(it->second));
    }
    if (parts.empty()) {
      for (const auto& [k, v] : point) parts.push_back(short_key(k) + " = " + number_label(v));
    }
    return fmt::format("{}", fmt::join(parts, ", "));
  }

  std::string grid_label(const GridPoint& p) const {
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < swept_.size(); ++i) {
      std::string v = display_value(p.values[i]);
      if (v == "inf") v = "∞";
      parts.push_back(short_key(swept_[i]) + " = " + v);
    }
    return parts.empty() ? std::string("the sweep's one grid point")
                         : fmt::format("{}", fmt::join(parts, ", "));
  }

  void annotate(Table& table, const std::string& legend) const {
    mark_best(table);
    decide(table);
    table.notes.push_back(sweep_note());
    table.notes.push_back(selection_note());
    table.notes.push_back(legend);
    if (const std::string marks = marks_note(table); !marks.empty()) table.notes.push_back(marks);
    if (table.with_paper && synthetic()) {
      table.notes.push_back(
          "Synthetic data: the paper's values (measured on its datasets) are shown for orientation only.");
    }
    if (const std::string shortfall = shortfall_note(); !shortfall.empty())
      table.footnotes.push_back(shortfall);
    table.footnotes.insert(table.footnotes.end(), flag_notes_.begin(), flag_notes_.end());
    if (!absent_.empty()) {
      table.footnotes.push_back(fmt::format("Not in this sweep: {}.", fmt::join(absent_, "; ")));
    }
    for (const GridPoint& p : points_) {
      if (!p.shown) {
        table.footnotes.push_back(
            fmt::format("Not shown in this layout: {} (see --table generic).", grid_label(p)));
      }
    }
    for (const GridPoint& p : points_) {
      std::vector<std::string> missing;
      for (std::size_t i : p.trials) {
        const Measured& m = trials_[i];
        if (!m.chosen) missing.push_back(trial_state(m));
      }
      if (!missing.empty()) {
        table.footnotes.push_back(fmt::format("{}: {} of {} trials counted; {}.", grid_label(p),
                                              p.trials.size() - missing.size(), p.trials.size(),
                                              fmt::join(missing, "; ")));
      }
    }
  }

 private:
  bool matches(const Point& a, const Point& b) const {
    if (a.size() != b.size()) return false;
    for (const auto& [k, v] : a) {
      auto it = b.find(k);
      if (it == b.end() || !same_value(v, it->second)) return false;
    }
    return true;
  }

  // Our statistic over the finished trials of a cell, and how much the
  // reported epoch gains over the last one and over the one picked on
  // kSelectionSplit (means over the seeds that have both).
  static void measure(Cell& c, const std::vector<const Measured*>& trials, const Metric& metric) {
    std::vector<double> values, over_last, over_other;
    for (const Measured* m : trials) {
      if (!m->chosen) continue;
      const auto v = metric_value(*m->chosen, metric);
      if (!v) continue;
      values.push_back(*v);
      if (const auto last = m->last ? metric_value(*m->last, metric) : std::nullopt)
        over_last.push_back(*v - *last);
      if (const auto other = m->on_other ? metric_value(*m->on_other, metric) : std::nullopt)
        over_other.push_back(*v - *other);
    }
    if (!values.empty()) c.ours = aggregate(values);
    if (!over_last.empty()) c.optimism_last = aggregate(over_last).mean;
    if (!over_other.empty()) c.optimism_other = aggregate(over_other).mean;
  }

  bool matches_trial(const Measured& m, const Point& point) const {
    for (const auto& [k, v] : point) {
      if (!same_value(m.params.number(k, default_of(k)), v)) return false;
    }
    return true;
  }

  // A printed average recomputed from the row's other printed columns.
  static std::optional<double> recompute(const PaperTable& table, const PaperRow& row, std::size_t column) {
    const std::string& id = table.columns[column];
    const auto value_of = [&](const std::string& c) -> std::optional<double> {
      const auto it = std::find(table.columns.begin(), table.columns.end(), c);
      if (it == table.columns.end()) return std::nullopt;
      return row.values[static_cast<std::size_t>(it - table.columns.begin())];
    };
    if (id == "average") {
      const auto r10 = value_of("r10"), r50 = value_of("r50");
      if (!r10 || !r50) return std::nullopt;
      return (*r10 + *r50) / 2.0;
    }
    if (id.starts_with("average_")) {
      const std::string suffix = id.substr(std::string("average").size());
      double sum = 0.0;
      int n = 0;
      for (std::size_t i = 0; i < table.columns.size(); ++i) {
        const std::string& c = table.columns[i];
        if (i != column && c.ends_with(suffix) && !c.starts_with("average")) {
          sum += row.values[i];
          ++n;
        }
      }
      if (n == 0) return std::nullopt;
      return sum / n;
    }
    return std::nullopt;
  }

  static void mark_best(Table& table) {
    for (std::size_t c = 0; c < table.columns.size(); ++c) {
      double best = -INFINITY;
      int with_value = 0;
      for (const Row& r : table.rows) {
        if (!r.other_method && r.cells[c].ours) {
          best = std::max(best, r.cells[c].ours->mean);
          ++with_value;
        }
      }
      if (with_value < 2) continue;
      for (Row& r : table.rows) {
        if (!r.other_method && r.cells[c].ours && r.cells[c].ours->mean == best) r.cells[c].best = true;
      }
    }
  }

  // The verdicts against the paper and the tests against the baseline row.
  static void decide(Table& table) {
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
      Row& row = table.rows[r];
      if (row.other_method) continue;
      for (std::size_t c = 0; c < row.cells.size(); ++c) {
        Cell& cell = row.cells[c];
        cell.verdict = verdict(cell.ours, cell.paper_reference);
        if (!table.baseline || !cell.ours) continue;
        if (r == *table.baseline) {
          cell.versus = VersusBaseline::baseline;
          continue;
        }
        const Cell& base = table.rows[*table.baseline].cells[c];
        if (!base.ours) continue;
        cell.versus_difference = cell.ours->mean - base.ours->mean;
        cell.versus_test = welch(*cell.ours, *base.ours);
        if (!cell.versus_test) continue;
        cell.versus = !cell.versus_test->significant()   ? VersusBaseline::same
                      : cell.versus_test->difference > 0 ? VersusBaseline::higher
                                                         : VersusBaseline::lower;
      }
    }
  }

  static std::string marks_note(const Table& table) {
    std::vector<std::string> parts;
    if (table.with_paper) {
      parts.push_back(
          "✓: the paper's value lies inside our 95% t-interval over seeds; ↓ / ↑: our interval lies "
          "below / above it; ?: one seed, too few for an interval");
    }
    const bool tested = std::any_of(table.rows.begin(), table.rows.end(), [](const Row& r) {
      return std::any_of(r.cells.begin(), r.cells.end(),
                         [](const Cell& c) { return c.versus_test.has_value(); });
    });
    if (tested) {
      std::vector<std::string> label;
      const Row& base = table.rows[*table.baseline];
      for (std::size_t i = 0; i < base.keys.size(); ++i) {
        label.push_back(table.key_headers[i] == "method" || table.key_headers[i] == "setting"
                            ? base.keys[i]
                            : table.key_headers[i] + " = " + base.keys[i]);
      }
      parts.push_back(fmt::format(
          "‡: differs from the baseline row ({}) beyond seed noise (Welch's t-test, two-sided p < 0.05; "
          "2 seeds or more on both sides)",
          fmt::join(label, ", ")));
    }
    if (parts.empty()) return "";
    return fmt::format("Marks: {}.", fmt::join(parts, "; "));
  }

  std::string sweep_note() const {
    std::size_t counted = 0;
    std::set<std::size_t> seeds_per_point;
    for (const Measured& m : trials_) counted += m.chosen ? 1 : 0;
    for (const GridPoint& p : points_) seeds_per_point.insert(p.trials.size());
    const std::string shape =
        seeds_per_point.size() == 1
            ? fmt::format("{} grid points × {} seed{}", points_.size(), *seeds_per_point.begin(),
                          *seeds_per_point.begin() == 1 ? "" : "s")
            : fmt::format("{} grid points", points_.size());
    return fmt::format("Sweep {} ({}): {} trials ({}), {} finished and counted.", sweep_.header.sweep,
                       sweep_.source, trials_.size(), shape, counted);
  }

  std::string selection_note() const {
    switch (options_.selection) {
      case Selection::best_r10:
        return "Epoch of each trial: its best R@10 (--select best:r10, the authors' rule).";
      case Selection::best_avg:
        return "Epoch of each trial: its best (R@10 + R@50) / 2 (--select best:avg).";
      case Selection::last:
        return "Epoch of each trial: its last evaluated epoch (--select last).";
    }
    return "";
  }

  // Which splits the table's counted trials were evaluated on only in part,
  // because data.missing_images = "skip" dropped queries or gallery images
  // (RecallValue's counts at the reported epoch): one line naming each, or
  // "" when every count is complete or unknown (0 of 0, a store written
  // before the counts were).
  std::string shortfall_note() const {
    std::vector<std::string> splits;                         // in order of first appearance
    std::map<std::string, std::vector<std::string>> counts;  // by split: its distinct shortfalls
    std::size_t counted = 0, short_trials = 0;
    for (const Measured& m : trials_) {
      if (!m.chosen || !points_[m.point].shown) continue;
      ++counted;
      bool fell_short = false;
      std::set<std::string> seen;
      for (const RecallValue& r : m.chosen->recalls) {
        if (!seen.insert(r.split).second) continue;  // the same counts for every K
        if (r.queries >= r.queries_total && r.gallery >= r.gallery_total) continue;
        fell_short = true;
        std::string text = r.queries < r.queries_total
                               ? fmt::format("{} of {} queries", grouped(r.queries), grouped(r.queries_total))
                               : fmt::format("all {} queries", grouped(r.queries_total));
        if (r.gallery < r.gallery_total)
          text += fmt::format(" and {} of {} gallery images", grouped(r.gallery), grouped(r.gallery_total));
        std::vector<std::string>& texts = counts[r.split];
        if (texts.empty()) splits.push_back(r.split);
        if (std::find(texts.begin(), texts.end(), text) == texts.end()) texts.push_back(text);
      }
      short_trials += fell_short ? 1 : 0;
    }
    if (splits.empty()) return "";
    std::vector<std::string> parts;
    for (const std::string& split : splits)
      parts.push_back(fmt::format("{} ({})", fmt::join(counts[split], " or "), split));
    const std::string who =
        short_trials == counted
            ? std::string("Evaluated on")
            : fmt::format("{} of the {} trials counted here were evaluated on", short_trials, counted);
    return fmt::format(
        "{} {} — data.missing_images = \"skip\" dropped the rest because their images are missing: these "
        "numbers are not on the dataset's full evaluation protocol and not comparable with the paper's.",
        who, fmt::join(parts, ", "));
  }

  // 2017 as "2,017".
  static std::string grouped(std::int64_t n) {
    std::string out = std::to_string(n);
    const std::size_t first = out[0] == '-' ? 1 : 0;
    for (std::size_t at = out.size(); at > first + 3; at -= 3) out.insert(at - 3, ",");
    return out;
  }

  static std::string trial_state(const Measured& m) {
    const store::TrialRow& row = m.trial->row;
    const std::string who = fmt::format("seed {} ({})", row.spec.seed, row.spec.id);
    const std::int64_t epochs =
        m.params.number(keys::train::epochs.name, 0.0) > 0
            ? static_cast<std::int64_t>(m.params.number(keys::train::epochs.name, 0.0))
            : 0;
    const std::string of = epochs > 0 ? fmt::format(" of {}", epochs) : "";
    switch (row.status) {
      case TrialStatus::pending:
        return who + " pending";
      case TrialStatus::running:
        return fmt::format("{} running, {}{} epochs done", who, row.epochs_done, of);
      case TrialStatus::done:
        return who + " done but never evaluated";
      case TrialStatus::failed:
      case TrialStatus::diverged:
        return fmt::format("{} {} after {} epochs: {}", who, to_string(row.status), row.epochs_done,
                           row.error.empty() ? "no message" : row.error);
    }
    return who;
  }

  const SweepData& sweep_;
  const PaperTables& paper_;
  TableOptions options_;
  std::vector<std::string> swept_;
  std::vector<Measured> trials_;
  std::vector<GridPoint> points_;
  std::string dataset_;
  std::vector<std::string> flag_notes_;
  std::vector<std::string> absent_;  // in table order
};

constexpr const char* kPaperLegend =
    "Cells: ours, mean ± std over seeds (paper, ours − paper); bold: our best in its column; —: no finished "
    "trial.";
constexpr const char* kPlainLegend =
    "Cells: mean ± std over seeds; bold: the best in its column; —: no finished trial.";

std::string dataset_suffix(const Context& ctx, const std::string& paper_dataset) {
  return ctx.synthetic() ? " — synthetic data" : " (" + paper_dataset + ")";
}

// Tables 1 and 2: the paper's baseline and ours, and any other γ0 run.
Table methods_table(Context& ctx, const std::string& name) {
  ctx.require_keys(name, {kGamma0});
  const PaperTable& paper = ctx.paper_table(name);
  const std::string dataset = name == "table1"         ? "FashionIQ"
                              : name == "table2_shoes" ? "Shoes"
                                                       : "Fashion200k";
  Table t{.name = name,
          .title = fmt::format("Table {}: results{}", name == "table1" ? 1 : 2, dataset_suffix(ctx, dataset)),
          .key_headers = {"method"},
          .with_paper = ctx.options().paper};
  for (const std::string& id : paper.columns) t.columns.push_back({column_group(id), column_name(id), id});
  if (ctx.options().others && ctx.options().paper) {
    for (const PaperRow& r : paper.rows) {
      if (!r.other_method) continue;
      Row row{.keys = {r.label + " [paper]"}, .other_method = true};
      for (double v : r.values) row.cells.push_back(Cell{.paper = v, .paper_reference = v});
      t.rows.push_back(std::move(row));
    }
  }
  std::vector<std::pair<std::string, double>> runs = {{"baseline (γ0 = ∞)", INFINITY},
                                                      {"ours (γ0 = 1)", 1.0}};
  for (double g : ctx.values_of(kGamma0)) {
    if (!std::isinf(g) && g != 1.0) runs.emplace_back("γ0 = " + number_label(g), g);
  }
  t.baseline = t.rows.size();
  for (const auto& [label, g] : runs) {
    Row row{.keys = {label}};
    for (const std::string& id : paper.columns)
      row.cells.push_back(ctx.paper_cell(paper, {{kGamma0, g}}, id));
    t.rows.push_back(std::move(row));
  }
  ctx.annotate(t, ctx.options().paper ? kPaperLegend : kPlainLegend);
  return t;
}

Table table3(Context& ctx) {
  ctx.require_keys("table3", {kGamma0, kDropout});
  const PaperTable& paper = ctx.paper_table("table3");
  Table t{.name = "table3",
          .title = "Table 3: dropout vs. uncertainty regularisation" + dataset_suffix(ctx, "Shoes"),
          .key_headers = {"method"},
          .with_paper = ctx.options().paper};
  for (const std::string& id : paper.columns) t.columns.push_back({"", column_name(id), id});
  std::vector<std::pair<std::string, Point>> rows;
  for (const PaperRow& r : paper.rows) rows.emplace_back(r.label, r.point);
  for (const Point& p : ctx.points_of({kGamma0, kDropout})) {
    if (paper.find(p) == nullptr) {
      rows.emplace_back(
          fmt::format("γ0 = {}, dropout = {}", number_label(p.at(kGamma0)), number_label(p.at(kDropout))), p);
    }
  }
  for (const auto& [label, point] : rows) {
    if (std::isinf(point.at(kGamma0)) && point.at(kDropout) == 0.0) t.baseline = t.rows.size();
    Row row{.keys = {label}};
    for (const std::string& id : paper.columns) row.cells.push_back(ctx.paper_cell(paper, point, id));
    t.rows.push_back(std::move(row));
  }
  ctx.annotate(t, ctx.options().paper ? kPaperLegend : kPlainLegend);
  return t;
}

Table table4(Context& ctx) {
  ctx.require_keys("table4", {kW1, kW2});
  const PaperTable& paper = ctx.paper_table("table4");
  Table t{.name = "table4",
          .title = "Table 4: noise scales w1 and w2" + dataset_suffix(ctx, "Shoes"),
          .key_headers = {"scale"},
          .with_paper = ctx.options().paper};
  const std::vector<std::pair<std::string, bool>> halves = {{"w1 (w2 = 1)", true}, {"w2 (w1 = 1)", false}};
  for (const auto& [group, w1] : halves) {
    for (const std::string& id : paper.columns) t.columns.push_back({group, column_name(id), id});
  }
  std::vector<double> scales;
  const auto add = [&](double s) {
    if (std::none_of(scales.begin(), scales.end(), [&](double o) { return same_value(o, s); }))
      scales.push_back(s);
  };
  for (const PaperRow& r : paper.rows) add(r.point.at(kW1) == 1.0 ? r.point.at(kW2) : r.point.at(kW1));
  for (const Point& p : ctx.points_of({kW1, kW2})) {
    if (same_value(p.at(kW2), 1.0)) add(p.at(kW1));
    if (same_value(p.at(kW1), 1.0)) add(p.at(kW2));
  }
  std::sort(scales.begin(), scales.end());
  for (double s : scales) {
    if (same_value(s, 1.0)) t.baseline = t.rows.size();
    Row row{.keys = {number_label(s)}};
    for (const auto& [group, w1] : halves) {
      const Point point = {{kW1, w1 ? s : 1.0}, {kW2, w1 ? 1.0 : s}};
      for (const std::string& id : paper.columns) row.cells.push_back(ctx.paper_cell(paper, point, id));
    }
    t.rows.push_back(std::move(row));
  }
  ctx.annotate(t, ctx.options().paper ? kPaperLegend : kPlainLegend);
  return t;
}

Table table5(Context& ctx) {
  ctx.require_keys("table5", {kGamma0});
  const PaperTable& paper = ctx.paper_table("table5");
  Table t{.name = "table5",
          .title = "Table 5: initial balance weight γ0" + dataset_suffix(ctx, "Shoes"),
          .key_headers = {"γ0"},
          .with_paper = ctx.options().paper};
  for (const std::string& id : paper.columns) t.columns.push_back({"", column_name(id), id});
  std::vector<double> gammas;
  for (const PaperRow& r : paper.rows) gammas.push_back(r.point.at(kGamma0));
  for (double g : ctx.values_of(kGamma0)) {
    if (std::none_of(gammas.begin(), gammas.end(), [&](double o) { return same_value(o, g); }))
      gammas.push_back(g);
  }
  std::sort(gammas.begin(), gammas.end());
  for (double g : gammas) {
    if (std::isinf(g)) t.baseline = t.rows.size();
    Row row{.keys = {number_label(g)}};
    for (const std::string& id : paper.columns)
      row.cells.push_back(ctx.paper_cell(paper, {{kGamma0, g}}, id));
    t.rows.push_back(std::move(row));
  }
  ctx.annotate(t, ctx.options().paper ? kPaperLegend : kPlainLegend);
  return t;
}

}  // namespace

namespace {

// The switches where the paper's text and the authors' code differ
// (docs/paper-notes.md): each key's default in the contract is the code's
// choice ("reference"), its other choice the paper's.
const std::vector<const keys::Key*>& switches() {
  static const std::vector<const keys::Key*> keys = {&keys::loss::augmenter, &keys::loss::uncertainty,
                                                     &keys::train::schedule,
                                                     &keys::data::fashioniq::protocol};
  return keys;
}

}  // namespace

std::string choose_table(const SweepData& sweep) {
  const std::vector<std::string> swept = swept_keys(sweep);
  const std::set<std::string> keys(swept.begin(), swept.end());
  const auto subset_of = [&](const std::set<std::string>& allowed) {
    return std::all_of(keys.begin(), keys.end(), [&](const std::string& k) { return allowed.contains(k); });
  };
  if (sweep.trials.empty()) return "generic";
  const TrialParams first(sweep.trials.front().row.spec);
  const std::string dataset = first.string(cir::keys::data::dataset.name, "");
  if (subset_of({kGamma0})) {
    bool baseline_and_ours = true;
    for (const TrialData& t : sweep.trials) {
      const double g = TrialParams(t.row.spec).number(kGamma0, 1.0);
      baseline_and_ours = baseline_and_ours && (std::isinf(g) || g == 1.0);
    }
    if (!baseline_and_ours) return "table5";
    bool fashioniq_splits = false;
    for (const TrialData& t : sweep.trials) {
      for (const EpochRecord& e : t.epochs) {
        fashioniq_splits =
            fashioniq_splits || std::any_of(e.recalls.begin(), e.recalls.end(),
                                            [](const RecallValue& r) { return r.split == "dress"; });
      }
    }
    if (dataset == "fashioniq" || fashioniq_splits) return "table1";
    // The synthetic twin of the Fashion200k sweep says so in its name only.
    if (dataset == "fashion200k" || sweep.header.sweep.find("fashion200k") != std::string::npos) {
      return "table2_fashion200k";
    }
    return "table2_shoes";
  }
  if (keys.contains(kDropout) && subset_of({kGamma0, kDropout})) return "table3";
  if (!keys.empty() && std::all_of(keys.begin(), keys.end(), [](const std::string& k) {
        return std::any_of(switches().begin(), switches().end(),
                           [&](const keys::Key* s) { return k == s->name; });
      }))
    return "discrepancy";
  if (subset_of({kW1, kW2})) return "table4";
  return "generic";
}

namespace {

Table generic_table(Context& ctx, const SweepData& sweep) {
  Table t{.name = "generic", .title = fmt::format("Sweep {}", sweep.header.sweep)};
  const std::vector<std::string>& swept = ctx.swept();
  t.key_headers = swept.empty() ? std::vector<std::string>{"sweep"} : swept;
  std::vector<std::string> splits;
  std::set<int> ks;
  for (const TrialData& trial : sweep.trials) {
    for (const EpochRecord& e : trial.epochs) {
      for (const RecallValue& r : e.recalls) {
        if (std::find(splits.begin(), splits.end(), r.split) == splits.end()) splits.push_back(r.split);
        ks.insert(r.k);
      }
    }
  }
  std::vector<Metric> metrics;
  if (splits.size() <= 1) {
    for (int k : ks) {
      t.columns.push_back({"", fmt::format("R@{}", k), fmt::format("r{}", k)});
      metrics.push_back({.k = k});
    }
  } else {
    for (const std::string& split : splits) {
      for (int k : ks) {
        t.columns.push_back({split, fmt::format("R@{}", k), fmt::format("{}_r{}", split, k)});
        metrics.push_back({.split = split, .k = k});
      }
    }
    for (int k : ks) {
      t.columns.push_back({"mean", fmt::format("R@{}", k), fmt::format("average_r{}", k)});
      metrics.push_back({.k = k});
    }
  }
  if (ctx.grid_points() > 1) t.baseline = 0;
  for (std::size_t p = 0; p < ctx.grid_points(); ++p) {
    Row row;
    for (const std::string& text : ctx.grid_values(p)) row.keys.push_back(display_value(text));
    if (swept.empty()) row.keys.push_back(sweep.header.sweep);
    for (const Metric& m : metrics) row.cells.push_back(ctx.grid_cell(p, m));
    t.rows.push_back(std::move(row));
  }
  ctx.annotate(t, kPlainLegend);
  return t;
}

}  // namespace

namespace {

std::string paper_choice(const keys::Key& key) {
  for (const char* c : key.choices.view()) {
    if (std::string(c) != key.string_default) return c;
  }
  return "";
}

// Each switch's effect on Shoes' main setting: the all-reference run, each
// switch flipped to the paper's choice alone, and all flipped, with the
// difference from the all-reference row and its Welch interval.
Table discrepancy_table(Context& ctx, const SweepData& sweep) {
  std::set<std::string> allowed;
  for (const keys::Key* k : switches()) allowed.insert(k->name);
  ctx.require_keys("discrepancy", allowed);
  const std::vector<std::string>& swept = ctx.swept();
  Table t{
      .name = "discrepancy",
      .title = fmt::format("Which paper-vs-code difference moves the result: sweep {}", sweep.header.sweep),
      .key_headers = {"setting"},
      .effects = true};
  const std::vector<std::pair<std::string, Metric>> metrics = {
      {"r10", Metric{.k = 10}},
      {"r50", Metric{.k = 50}},
      {"average", Metric{.kind = Metric::Kind::average_10_50}}};
  for (const auto& [id, m] : metrics) t.columns.push_back({"", column_name(id), id});
  // The grid point with the swept switches in `paper` flipped to the paper's choice.
  const auto point_with = [&](const std::set<std::string>& paper) -> std::optional<std::size_t> {
    std::vector<std::string> want;
    for (const std::string& k : swept) {
      const keys::Key* key = keys::find(k);
      want.push_back(
          nlohmann::json(paper.contains(k) ? paper_choice(*key) : std::string(key->string_default)).dump());
    }
    for (std::size_t p = 0; p < ctx.grid_points(); ++p) {
      if (ctx.grid_values(p) == want) return p;
    }
    return std::nullopt;
  };
  std::vector<std::pair<std::string, std::set<std::string>>> rows = {
      {"all reference (the authors' code)", {}}};
  for (const std::string& k : swept)
    rows.push_back({fmt::format("{} = {}", k, paper_choice(*keys::find(k))), {k}});
  if (swept.size() > 1) rows.push_back({"all paper (the paper's text)", {swept.begin(), swept.end()}});
  std::vector<std::string> absent;
  for (const auto& [label, paper] : rows) {
    const auto p = point_with(paper);
    if (!p) {
      absent.push_back(label);
      continue;
    }
    if (paper.empty()) t.baseline = t.rows.size();
    Row row{.keys = {label}};
    for (const auto& [id, m] : metrics) row.cells.push_back(ctx.grid_cell(*p, m));
    t.rows.push_back(std::move(row));
  }
  ctx.annotate(t,
               "Cells: mean ± std over seeds, then (Δ: the difference from the all-reference row, with its "
               "95% Welch interval when both have 2 seeds or more); —: no finished trial.");
  if (!absent.empty()) t.footnotes.push_back(fmt::format("Not in this sweep: {}.", fmt::join(absent, "; ")));
  return t;
}

}  // namespace

Table build_table(const SweepData& sweep, const PaperTables& paper, const TableOptions& options) {
  const std::vector<std::string> names = table_names();
  if (!options.table.empty() && std::find(names.begin(), names.end(), options.table) == names.end()) {
    throw Error(fmt::format("unknown table '{}'", options.table), Where{.key = "--table"},
                fmt::format("choose one of {}", fmt::join(names, ", ")));
  }
  Context ctx(sweep, paper, options);
  const std::string name = options.table.empty() ? choose_table(sweep) : options.table;
  if (name == "table1" || name == "table2_shoes" || name == "table2_fashion200k")
    return methods_table(ctx, name);
  if (name == "table3") return table3(ctx);
  if (name == "table4") return table4(ctx);
  if (name == "table5") return table5(ctx);
  if (name == "discrepancy") return discrepancy_table(ctx, sweep);
  return generic_table(ctx, sweep);
}

}  // namespace cir::analysis
