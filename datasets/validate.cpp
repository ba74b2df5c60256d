#include "datasets/validate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <sstream>
#include <thread>

#include "common/error.hpp"

namespace cir::datasets {

Problems validate_folder(const std::string& dataset, const ReaderOptions& options, int threads) {
  Scan scan = scan_dataset(dataset, options);
  const ImageSource& images = scan.dataset->images();
  const auto n = images.size();
  std::vector<std::string> failures(static_cast<std::size_t>(n));
  std::atomic<std::int64_t> next{0};
  auto work = [&] {
    for (std::int64_t i = next++; i < n; i = next++) {
      if (scan.missing[i]) continue;
      try {
        images.load(i, [](ImageSize) { return 1.0; });
      } catch (const Error& e) {
        failures[i] = e.message();
      } catch (const std::exception& e) {
        failures[i] = e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(threads, 1); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  for (std::int64_t i = 0; i < n; ++i)
    if (!failures[i].empty()) scan.problems.add(ProblemKind::bad_image, images.name(i), 0, failures[i]);
  return scan.problems;
}

namespace {

struct Spread {
  std::int64_t count = 0;
  double total = 0, min = 0, max = 0;
  void add(double v) {
    min = count == 0 ? v : std::min(min, v);
    max = count == 0 ? v : std::max(max, v);
    total += v;
    ++count;
  }
  std::string text() const {
    return count == 0 ? "-" : fmt::format("min {:g}, mean {:.2f}, max {:g}", min, total / count, max);
  }
};

double words(const std::string& s) {
  std::istringstream in(s);
  double n = 0;
  for (std::string w; in >> w;) ++n;
  return n;
}

// The Recall@K a random ranking scores on average (percent): the chance
// that at least one of a query's m true matches lands in the top k of the
// n gallery images it ranks.
double chance_recall(const EvalSplit& split, int k) {
  if (split.queries.empty()) return 0;
  double sum = 0;
  for (const auto& q : split.queries) {
    const double n = static_cast<double>(split.gallery.size()) - (q.exclude >= 0 ? 1 : 0);
    const double m = static_cast<double>(q.true_matches.size());
    double miss = 1;  // none of the m among the first k
    for (int i = 0; i < k && miss > 0; ++i) miss *= std::max(0.0, (n - m - i) / (n - i));
    sum += 1 - miss;
  }
  return 100 * sum / static_cast<double>(split.queries.size());
}

}  // namespace

std::string describe_stats(const Dataset& ds) {
  std::string out = fmt::format("dataset: {}\nimages: {}\nimage size: {} px\n", ds.name(), ds.images().size(),
                                ds.image_size());
  Spread train_words;
  for (const auto& t : ds.training()) train_words.add(words(t.caption));
  out +=
      fmt::format("training triplets: {}\n  caption words: {}\n", ds.training().size(), train_words.text());
  for (const auto& s : ds.splits()) {
    Spread matches, query_words;
    for (const auto& q : s.queries) {
      matches.add(static_cast<double>(q.true_matches.size()));
      query_words.add(words(q.caption));
    }
    out += fmt::format(
        "split {}: gallery {}, queries {}\n  true matches per query: {}\n  caption words: {}\n"
        "  Recall@1/10/50 of a random ranking: {:.2f} / {:.2f} / {:.2f}\n",
        s.name, s.gallery.size(), s.queries.size(), matches.text(), query_words.text(), chance_recall(s, 1),
        chance_recall(s, 10), chance_recall(s, 50));
    if (s.dropped_queries + s.dropped_gallery > 0) {
      out += fmt::format("  dropped for missing images: gallery {}, queries {}\n", s.dropped_gallery,
                         s.dropped_queries);
    }
  }
  if (ds.dropped().any()) {
    const auto& d = ds.dropped();
    out += fmt::format("dropped for missing images: {} images, {} triplets\n", d.images, d.triplets);
  }
  return out;
}

}  // namespace cir::datasets
