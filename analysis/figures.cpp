#include "analysis/figures.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/keys.hpp"

namespace cir::analysis {

namespace fs = std::filesystem;

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

namespace {

// A gnuplot single-quoted string.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

// A folder of data files and scripts, removed when done.
class Scratch {
 public:
  Scratch() {
    std::string pattern = (fs::temp_directory_path() / "cir-report-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr)
      throw Error("cannot create a temporary folder for the figures' data");
    dir_ = pattern;
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

// Above this many trials the loss and recall figures draw grid points, not trials.
constexpr std::size_t kTrialsPerLine = 48;

struct Series {
  std::string title;
  int color = 1;  // by grid point
  int dash = 1;   // by seed
  fs::path data;  // columns: epoch (1-based), then values
};

std::string short_key(const std::string& key) {
  if (key == keys::loss::gamma0.name) return "γ0";
  if (key == keys::model::text::dropout.name) return "dropout";
  if (key == keys::loss::w1.name) return "w1";
  if (key == keys::loss::w2.name) return "w2";
  return key;
}

class Plotter {
 public:
  Plotter(const SweepData& sweep, const FigureOptions& options)
      : sweep_(sweep), options_(options), swept_(swept_keys(sweep)) {
    for (const TrialData& t : sweep.trials) {
      const TrialParams params(t.row.spec);
      std::vector<std::string> values;
      for (const std::string& k : swept_) values.push_back(params.text(k));
      auto it = std::find(points_.begin(), points_.end(), values);
      if (it == points_.end()) it = points_.insert(points_.end(), values);
      point_of_.push_back(static_cast<int>(it - points_.begin()));
      seeds_.insert(t.row.spec.seed);
      for (const EpochRecord& e : t.epochs) {
        for (const RecallValue& r : e.recalls) ks_.insert(r.k);
      }
    }
  }

  std::vector<fs::path> run() {
    std::error_code ec;
    fs::create_directories(options_.out_dir, ec);
    if (ec) {
      throw Error("cannot create the figures' folder: " + ec.message(),
                  Where{.file = options_.out_dir.string()},
                  "pass --out with a folder you can write, or --no-figures");
    }
    // gnuplot would fail on its first output file, with a message of its own.
    const fs::path probe = options_.out_dir / fmt::format(".{}-{}.probe", options_.stem, ::getpid());
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      throw Error(fmt::format("cannot write the figures into this folder: {}", std::strerror(errno)),
                  Where{.file = options_.out_dir.string()},
                  "pass --out with a folder you can write, or --no-figures");
    }
    ::close(fd);
    fs::remove(probe, ec);
    std::string script;
    loss(script);
    if (!ks_.empty()) recall(script);
    for (const std::string& key : swept_) against(script, key);
    const fs::path file = scratch_.dir() / "figures.gp";
    std::ofstream(file) << script;
    execute(file);
    return written_;
  }

 private:
  // The legend entry of a trial's line: its grid point, on the first line
  // drawn for that point only (seeds share the colour, the dash tells them apart).
  std::string label(std::size_t trial, std::set<int>& labelled) const {
    if (!labelled.insert(point_of_[trial]).second) return "";
    const std::vector<std::string>& values = points_[static_cast<std::size_t>(point_of_[trial])];
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < swept_.size(); ++i) {
      std::string v = display_value(values[i]);
      if (v == "inf") v = "∞";
      parts.push_back(short_key(swept_[i]) + " = " + v);
    }
    if (parts.empty()) parts.push_back(sweep_.header.sweep);
    return fmt::format("{}", fmt::join(parts, ", "));
  }

  int dash(std::size_t trial) const {
    const auto it = seeds_.find(sweep_.trials[trial].row.spec.seed);
    return 1 + static_cast<int>(std::distance(seeds_.begin(), it)) % 5;
  }

  // The terminals of one figure: `body` is drawn once per format.
  void figure(std::string& script, const std::string& name, int width, int height, const std::string& body) {
    const auto emit = [&](const std::string& terminal, const std::string& mode,
                          const std::string& extension) {
      const fs::path out = options_.out_dir / fmt::format("{}-{}.{}", options_.stem, name, extension);
      script += fmt::format("reset\nset terminal {} size {},{} {} font 'Sans,11' background rgb 'white'\n",
                            terminal, width, height, mode);
      script += fmt::format("set output {}\n{}unset output\n", quoted(out.string()), body);
      written_.push_back(out);
    };
    if (options_.svg) emit("svg", "dynamic noenhanced", "svg");
    if (options_.png) emit("pngcairo", "noenhanced", "png");
  }

  std::string key_setting() const {
    if (points_.size() > 16) return "unset key\n";
    return seeds_.size() > 1 && !per_point() ? "set key outside right top title 'dash: seed'\n"
                                             : "set key outside right top\n";
  }

  std::string lines(const std::vector<Series>& series, int column) const {
    const std::string style = per_point() ? "with lines lw 1.5" : "with linespoints pt 7 ps 0.4 lw 2";
    std::vector<std::string> parts;
    for (const Series& s : series) {
      parts.push_back(fmt::format("{} using 1:{} {} lc {} dt {} {}", quoted(s.data.string()), column, style,
                                  s.color, s.dash, s.title.empty() ? "notitle" : "title " + quoted(s.title)));
    }
    return fmt::format("plot {}\n", fmt::join(parts, ", \\\n     "));
  }

  // Above kTrialsPerLine trials a line per trial is unreadable (and the
  // files grow to tens of MB): one line per grid point, the mean over its seeds.
  bool per_point() const { return sweep_.trials.size() > kTrialsPerLine; }

  // The lines of a figure from each trial's rows (epoch → values): one data
  // file per trial, or per grid point with each epoch's mean over the
  // point's trials that have it.
  std::vector<Series> series_of(const std::vector<std::map<std::int32_t, std::vector<double>>>& rows,
                                const std::string& name) {
    std::vector<Series> series;
    std::set<int> labelled;
    const auto write = [&](const fs::path& data, const std::map<std::int32_t, std::vector<double>>& table) {
      std::ofstream out(data);
      for (const auto& [epoch, values] : table) {
        std::string row = fmt::format("{}", epoch + 1);
        for (double v : values) row += std::isnan(v) ? " NaN" : fmt::format(" {:.17g}", v);
        out << row << "\n";
      }
    };
    if (!per_point()) {
      for (std::size_t i = 0; i < rows.size(); ++i) {
        if (rows[i].empty()) continue;
        const fs::path data = scratch_.dir() / fmt::format("{}-{}.dat", name, i);
        write(data, rows[i]);
        series.push_back({label(i, labelled), 1 + point_of_[i], dash(i), data});
      }
      return series;
    }
    for (std::size_t p = 0; p < points_.size(); ++p) {
      std::map<std::int32_t, std::vector<double>> sums;
      std::map<std::int32_t, std::vector<int>> counts;
      std::size_t first = rows.size();
      for (std::size_t i = 0; i < rows.size(); ++i) {
        if (static_cast<std::size_t>(point_of_[i]) != p) continue;
        for (const auto& [epoch, values] : rows[i]) {
          auto& sum = sums[epoch];
          auto& count = counts[epoch];
          sum.resize(values.size(), 0.0);
          count.resize(values.size(), 0);
          for (std::size_t c = 0; c < values.size(); ++c) {
            if (std::isnan(values[c])) continue;
            sum[c] += values[c];
            ++count[c];
          }
          first = std::min(first, i);
        }
      }
      if (sums.empty()) continue;
      for (auto& [epoch, sum] : sums) {
        for (std::size_t c = 0; c < sum.size(); ++c)
          sum[c] = counts[epoch][c] > 0 ? sum[c] / counts[epoch][c] : NAN;
      }
      const fs::path data = scratch_.dir() / fmt::format("{}-point-{}.dat", name, p);
      write(data, sums);
      series.push_back({label(first, labelled), 1 + static_cast<int>(p), 1, data});
    }
    return series;
  }

  std::string lines_note() const { return per_point() ? " (mean over seeds per grid point)" : ""; }

  void loss(std::string& script) {
    std::vector<std::map<std::int32_t, std::vector<double>>> rows(sweep_.trials.size());
    for (std::size_t i = 0; i < sweep_.trials.size(); ++i) {
      for (const EpochRecord& e : sweep_.trials[i].epochs) rows[i][e.epoch] = {e.loss_total};
    }
    const std::vector<Series> series = series_of(rows, "loss");
    if (series.empty()) return;
    std::string body = key_setting();
    body +=
        fmt::format("set title {}\n",
                    quoted(fmt::format("{}: training loss per epoch{}", sweep_.header.sweep, lines_note())));
    body += "set xlabel 'epoch'\nset ylabel 'training loss (total)'\nset grid\n";
    body += lines(series, 2);
    figure(script, "loss", 900, 540, body);
  }

  void recall(std::string& script) {
    std::vector<std::map<std::int32_t, std::vector<double>>> rows(sweep_.trials.size());
    for (std::size_t i = 0; i < sweep_.trials.size(); ++i) {
      for (const EpochRecord& e : sweep_.trials[i].epochs) {
        if (e.recalls.empty()) continue;
        std::vector<double>& values = rows[i][e.epoch];
        for (int k : ks_) values.push_back(metric_value(e, Metric{.k = k}).value_or(NAN));
      }
    }
    const std::vector<Series> series = series_of(rows, "recall");
    if (series.empty()) return;
    std::string body = fmt::format("set multiplot layout 1,{} title {}\n", ks_.size(),
                                   quoted(fmt::format("{}: Recall@K per epoch (mean over splits){}",
                                                      sweep_.header.sweep, lines_note())));
    body += "set xlabel 'epoch'\nset grid\n";
    int column = 2;
    for (int k : ks_) {
      body += column == 2 + static_cast<int>(ks_.size()) - 1 ? key_setting() : "unset key\n";
      body += fmt::format("set ylabel 'R@{} (%)'\nset title 'R@{}'\n", k, k);
      body += lines(series, column++);
    }
    body += "unset multiplot\n";
    figure(script, "recall", 420 * static_cast<int>(ks_.size()) + 220, 480, body);
  }

  // Recall@K at the reported epoch against one swept key, for numeric keys.
  void against(std::string& script, const std::string& key) {
    if (ks_.empty()) return;
    std::map<double, std::map<int, std::vector<double>>> by_value;  // value → K → values over seeds
    for (std::size_t i = 0; i < sweep_.trials.size(); ++i) {
      const TrialData& t = sweep_.trials[i];
      const double x = TrialParams(t.row.spec).number(key, NAN);
      if (std::isnan(x)) return;  // not a numeric key
      if (t.row.status != TrialStatus::done) continue;
      const auto chosen = select_epoch(t.epochs, options_.selection);
      if (!chosen) continue;
      for (int k : ks_) {
        if (const auto v = metric_value(*chosen, Metric{.k = k})) by_value[x][k].push_back(*v);
      }
    }
    if (swept_.size() > 1 || by_value.empty()) return;
    const fs::path data = scratch_.dir() / fmt::format("vs-{}.dat", key);
    std::ofstream out(data);
    std::vector<double> finite;
    std::map<int, Stat> at_infinity;
    for (const auto& [x, per_k] : by_value) {
      if (std::isinf(x)) {
        for (const auto& [k, values] : per_k) at_infinity[k] = aggregate(values);
        continue;
      }
      finite.push_back(x);
      std::string row = fmt::format("{:.17g}", x);
      for (int k : ks_) {
        const auto it = per_k.find(k);
        if (it == per_k.end()) {
          row += " NaN NaN";
        } else {
          const Stat s = aggregate(it->second);
          row += fmt::format(" {:.17g} {:.17g}", s.mean, s.std);
        }
      }
      out << row << "\n";
    }
    out.close();
    const bool log_x = !finite.empty() && finite.front() > 0 && finite.back() / finite.front() >= 10.0;
    std::string body = "set key outside right top\nset grid\n";
    body +=
        fmt::format("set title {}\n",
                    quoted(fmt::format("{}: Recall@K at the reported epoch ({}) against {}",
                                       sweep_.header.sweep, to_string(options_.selection), short_key(key))));
    body += fmt::format("set xlabel {}\nset ylabel 'Recall@K (%), mean ± std over seeds'\n",
                        quoted(short_key(key) + (log_x ? " (log scale)" : "")));
    if (log_x) body += "set logscale x\n";
    if (!finite.empty()) {
      const double lo = finite.front(), hi = finite.back();
      body += log_x ? fmt::format("set xrange [{:.17g}:{:.17g}]\n", lo / 1.5, hi * 1.5)
                    : fmt::format("set xrange [{:.17g}:{:.17g}]\n", lo - 0.1 * (hi - lo + 1),
                                  hi + 0.1 * (hi - lo + 1));
    }
    std::vector<std::string> parts;
    int column = 2, color = 1;
    for (int k : ks_) {
      if (!finite.empty()) {
        parts.push_back(fmt::format("{} using 1:{}:{} with yerrorlines pt 7 lw 2 lc {} title 'R@{}'",
                                    quoted(data.string()), column, column + 1, color, k));
      }
      if (const auto it = at_infinity.find(k); it != at_infinity.end()) {
        parts.push_back(fmt::format("{:.17g} with lines dt 2 lw 2 lc {} title {}", it->second.mean, color,
                                    quoted(fmt::format("R@{} at {} = ∞", k, short_key(key)))));
      }
      column += 2;
      ++color;
    }
    if (parts.empty()) return;
    body += fmt::format("plot {}\n", fmt::join(parts, ", \\\n     "));
    figure(script, "vs-" + key, 900, 540, body);
  }

  void execute(const fs::path& script) const {
    const std::string program = find_program(options_.gnuplot);
    if (program.empty()) {
      throw Error(fmt::format("cannot draw figures: '{}' is not installed", options_.gnuplot), {},
                  "install gnuplot-nox (scripts/install-deps.sh does), or pass --no-figures");
    }
    const fs::path log = scratch_.dir() / "gnuplot.log";
    const std::string command = fmt::format("'{}' '{}' > '{}' 2>&1", program, script.string(), log.string());
    const int status = std::system(command.c_str());
    if (status != 0) {
      std::ifstream in(log);
      std::stringstream text;
      text << in.rdbuf();
      throw Error(fmt::format("gnuplot failed (exit status {}): {}",
                              WIFEXITED(status) ? WEXITSTATUS(status) : status, text.str()),
                  Where{.file = sweep_.source},
                  "the figures' data and script are cir-report's; please report this");
    }
  }

  const SweepData& sweep_;
  FigureOptions options_;
  std::vector<std::string> swept_;
  std::vector<std::vector<std::string>> points_;
  std::vector<int> point_of_;
  std::set<std::int64_t> seeds_;
  std::set<int> ks_;
  Scratch scratch_;
  std::vector<fs::path> written_;
};

}  // namespace

std::vector<fs::path> write_figures(const SweepData& sweep, const FigureOptions& options) {
  if (!options.svg && !options.png) return {};
  return Plotter(sweep, options).run();
}

std::vector<std::pair<std::string, std::string>> figure_svgs(const SweepData& sweep, Selection selection,
                                                             const std::string& gnuplot) {
  Scratch scratch;
  const FigureOptions options{.out_dir = scratch.dir(),
                              .stem = "figure",
                              .svg = true,
                              .png = false,
                              .selection = selection,
                              .gnuplot = gnuplot};
  std::vector<std::pair<std::string, std::string>> out;
  for (const fs::path& file : Plotter(sweep, options).run()) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    out.emplace_back(file.stem().string().substr(options.stem.size() + 1), text.str());
  }
  return out;
}

}  // namespace cir::analysis
