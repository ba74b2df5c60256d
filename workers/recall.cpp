#include "workers/recall.hpp"

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>

#include "common/error.hpp"
#include "workers/precision.hpp"

namespace cir::workers {
namespace {

void check_features(const torch::Tensor& queries, const torch::Tensor& gallery) {
  if (queries.dim() != 2 || gallery.dim() != 2)
    throw Error(
        fmt::format("retrieval needs 2-D features, got queries of shape [{}] and gallery of shape [{}]",
                    fmt::join(queries.sizes(), ", "), fmt::join(gallery.sizes(), ", ")));
  if (queries.size(1) != gallery.size(1))
    throw Error(fmt::format("query features have {} dimensions but gallery features {}", queries.size(1),
                            gallery.size(1)));
  if (queries.device() != gallery.device() || queries.scalar_type() != gallery.scalar_type())
    throw Error("query and gallery features must share device and dtype");
  if (!torch::isfinite(queries).all().item<bool>() || !torch::isfinite(gallery).all().item<bool>())
    throw Error("the evaluation features contain NaN or infinity", {},
                "the model has diverged or its weights are corrupt");
}

void check_truth(const std::vector<QueryTruth>& truth, std::int64_t n_queries, std::int64_t n_gallery) {
  if (static_cast<std::int64_t>(truth.size()) != n_queries)
    throw Error(fmt::format("{} queries but {} ground-truth entries", n_queries, truth.size()));
  for (std::size_t q = 0; q < truth.size(); ++q) {
    for (std::int64_t m : truth[q].matches)
      if (m < 0 || m >= n_gallery)
        throw Error(
            fmt::format("query {}: true match {} is outside the gallery of {} items", q, m, n_gallery));
    if (truth[q].exclude < -1 || truth[q].exclude >= n_gallery)
      throw Error(fmt::format("query {}: excluded index {} is outside the gallery of {} items", q,
                              truth[q].exclude, n_gallery));
  }
}

// The shape of a score tile of at most `block_bytes` (float scores): up to
// kTileColumns gallery items wide, as many query rows as fit, at least 1×1.
constexpr std::int64_t kTileColumns = 2048;
constexpr float kInfinity = std::numeric_limits<float>::infinity();

// The selection reads a row in groups of kLanes scores, one vectorised
// count per group; only a group that holds a candidate is read one by one.
constexpr std::int64_t kLanes = 16;
// Four scores and their comparison masks (GCC / Clang vector extensions:
// SSE on any x86-64, NEON on ARM).
using Floats4 = float __attribute__((vector_size(16)));
using Masks4 = std::int32_t __attribute__((vector_size(16)));
std::int32_t count_above(const float* s, float threshold) {
  Masks4 masks = {0, 0, 0, 0};
  for (std::int64_t i = 0; i < kLanes; i += 4) {
    Floats4 four;
    std::memcpy(&four, s + i, sizeof four);
    masks += four > threshold;  // -1 where above
  }
  return -(masks[0] + masks[1] + masks[2] + masks[3]);
}

struct TileShape {
  std::int64_t rows, columns;
};

TileShape tile_shape(std::int64_t n_queries, std::int64_t n_gallery, std::size_t block_bytes) {
  const auto floats = static_cast<std::int64_t>(std::max<std::size_t>(block_bytes / sizeof(float), 1));
  const std::int64_t columns = std::clamp<std::int64_t>(std::min(n_gallery, kTileColumns), 1, floats);
  const std::int64_t rows =
      std::clamp<std::int64_t>(floats / columns, 1, std::max<std::int64_t>(n_queries, 1));
  return {rows, columns};
}

// Computes the scores <query, gallery item> tile by tile: for each block of
// `shape.rows` queries, the gallery blocks of `shape.columns` items in
// gallery order, each one matrix product into the same buffer, then
// visit(q0, g0, rows, columns, scores) with the tile as row-major floats on
// the host (scores[r * columns + c] is query q0 + r against item g0 + c).
// Only the tile is held, so memory stays bounded by its size, and each
// tile is consumed while it is still in cache.
template <typename Visit>
void for_each_score_tile(const torch::Tensor& queries, const torch::Tensor& gallery, TileShape shape,
                         Visit&& visit) {
  const Float32MatmulScope exact;
  const bool host_floats = queries.device().is_cpu() && queries.scalar_type() == torch::kFloat;
  const torch::Tensor q = host_floats ? queries.contiguous() : queries;
  const torch::Tensor g = host_floats ? gallery.contiguous() : gallery;
  std::vector<float> buffer(static_cast<std::size_t>(shape.rows * shape.columns));
  const std::int64_t n_queries = q.size(0), n_gallery = g.size(0);
  for (std::int64_t q0 = 0; q0 < n_queries; q0 += shape.rows) {
    const std::int64_t rows = std::min(shape.rows, n_queries - q0);
    const torch::Tensor query_block = q.narrow(0, q0, rows);
    for (std::int64_t g0 = 0; g0 < n_gallery; g0 += shape.columns) {
      const std::int64_t columns = std::min(shape.columns, n_gallery - g0);
      const torch::Tensor gallery_block = g.narrow(0, g0, columns).t();
      torch::Tensor tile = torch::from_blob(buffer.data(), {rows, columns});
      if (host_floats) {
        torch::mm_out(tile, query_block, gallery_block);
      } else {
        tile.copy_(query_block.matmul(gallery_block).to(torch::kCPU, torch::kFloat));
      }
      visit(q0, g0, rows, columns, static_cast<const float*>(buffer.data()));
    }
  }
}

// The k best (score, index) pairs seen so far of one query, as a min-heap
// on (score, then higher index = worse) over two arrays of k, filled
// `size` of k. Items arrive in gallery order, so an item equal in score to
// the worst kept one never displaces it.
struct Heap {
  float* scores;
  std::int64_t* indices;
  std::int64_t k, size;

  static bool worse(float sa, std::int64_t ia, float sb, std::int64_t ib) {
    return sa < sb || (sa == sb && ia > ib);
  }
  float threshold() const { return size < k ? -kInfinity : scores[0]; }
  void sift_down(std::int64_t i) {
    const float s = scores[i];
    const std::int64_t idx = indices[i];
    for (;;) {
      std::int64_t child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && worse(scores[child + 1], indices[child + 1], scores[child], indices[child]))
        ++child;
      if (!worse(scores[child], indices[child], s, idx)) break;
      scores[i] = scores[child];
      indices[i] = indices[child];
      i = child;
    }
    scores[i] = s;
    indices[i] = idx;
  }
  void push(float s, std::int64_t idx) {
    if (size < k) {
      std::int64_t i = size++;
      while (i > 0) {
        const std::int64_t parent = (i - 1) / 2;
        if (!worse(s, idx, scores[parent], indices[parent])) break;
        scores[i] = scores[parent];
        indices[i] = indices[parent];
        i = parent;
      }
      scores[i] = s;
      indices[i] = idx;
    } else {
      scores[0] = s;
      indices[0] = idx;
      sift_down(0);
    }
  }
  // Best first (higher score, then lower index).
  void sort() {
    std::vector<std::pair<float, std::int64_t>> items(static_cast<std::size_t>(size));
    for (std::int64_t i = 0; i < size; ++i) items[static_cast<std::size_t>(i)] = {scores[i], indices[i]};
    std::sort(items.begin(), items.end(),
              [](const auto& a, const auto& b) { return worse(b.first, b.second, a.first, a.second); });
    for (std::int64_t i = 0; i < size; ++i)
      std::tie(scores[i], indices[i]) = items[static_cast<std::size_t>(i)];
  }
};

// A bound on how far two float evaluations of <query, item> (in any order of
// summation, with or without fused multiply-adds) can lie from the exact
// value: D · 2^-24 relative to |query| · |item|, doubled for safety.
float rounding_bound(std::int64_t dims, double query_norm, double max_item_norm) {
  const double unit = std::ldexp(1.0, -24);
  return static_cast<float>(2.0 * static_cast<double>(dims + 2) * unit * query_norm * max_item_norm) +
         std::numeric_limits<float>::min();
}

}  // namespace

std::vector<std::int64_t> match_ranks(const torch::Tensor& queries, const torch::Tensor& gallery,
                                      const std::vector<QueryTruth>& truth, std::size_t block_bytes) {
  if (!queries.device().is_cpu()) return match_ranks_on_device(queries, gallery, truth, block_bytes);
  check_features(queries, gallery);
  const std::int64_t n_queries = queries.size(0), n_gallery = gallery.size(0), dims = queries.size(1);
  check_truth(truth, n_queries, n_gallery);

  // The rank is the number of items placed before the best true match, so
  // one pass over the scores counts, for each query, the items above a band
  // around its best match's score (computed here in double) and keeps the
  // few inside the band. Once the tiles have given the match's own score,
  // the band's items are placed exactly as the protocol says, against the
  // same float scores every other item was compared by.
  const torch::Tensor host_queries = queries.to(torch::kCPU, torch::kFloat).contiguous();
  const torch::Tensor host_gallery = gallery.to(torch::kCPU, torch::kFloat).contiguous();
  const double max_item_norm =
      n_gallery > 0 ? host_gallery.norm(2, 1).max().item<double>() * (1.0 + 1e-6) : 0.0;
  const auto dot = [dims](const float* a, const float* b) {
    double sum = 0.0;
    for (std::int64_t i = 0; i < dims; ++i) sum += static_cast<double>(a[i]) * static_cast<double>(b[i]);
    return sum;
  };
  struct State {
    float low = 0, high = 0;  // the band: scores in [low, high] are kept
    std::int64_t above = 0;   // items scoring above high
    std::vector<std::pair<float, std::int64_t>> band;
    std::vector<float> match_scores;  // the tiles' scores of truth.matches
    float exclude_score = 0;
    bool active = false;  // has a true match that is not excluded
  };
  std::vector<State> states(static_cast<std::size_t>(n_queries));
  at::parallel_for(0, n_queries, 64, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t q = first; q < last; ++q) {
      const QueryTruth& t = truth[static_cast<std::size_t>(q)];
      State& state = states[static_cast<std::size_t>(q)];
      const float* query = host_queries.data_ptr<float>() + q * dims;
      double best = -std::numeric_limits<double>::infinity();
      for (std::int64_t m : t.matches) {
        if (m == t.exclude) continue;
        best = std::max(best, dot(query, host_gallery.data_ptr<float>() + m * dims));
        state.active = true;
      }
      if (!state.active) continue;
      const double norm = std::sqrt(dot(query, query));
      const float bound = rounding_bound(dims, norm, max_item_norm);
      state.low = static_cast<float>(best) - bound;
      state.high = static_cast<float>(best) + bound;
      state.match_scores.assign(t.matches.size(), 0.0F);
    }
  });

  for_each_score_tile(
      queries, gallery, tile_shape(n_queries, n_gallery, block_bytes),
      [&](std::int64_t q0, std::int64_t g0, std::int64_t rows, std::int64_t columns, const float* tile) {
        at::parallel_for(0, rows, 16, [&](std::int64_t first, std::int64_t last) {
          for (std::int64_t r = first; r < last; ++r) {
            State& state = states[static_cast<std::size_t>(q0 + r)];
            if (!state.active) continue;
            const float* s = tile + r * columns;
            const float low = state.low, high = state.high;
            std::int64_t above = 0;
            for (std::int64_t c = 0; c < columns; c += kLanes) {
              const std::int64_t end = std::min(c + kLanes, columns);
              if (end - c == kLanes) {
                const std::int32_t over = count_above(s + c, high);
                if (count_above(s + c, std::nextafter(low, -kInfinity)) == over) {
                  above += over;
                  continue;
                }
              }
              for (std::int64_t i = c; i < end; ++i) {
                above += s[i] > high;
                if (s[i] >= low && s[i] <= high) state.band.emplace_back(s[i], g0 + i);
              }
            }
            state.above += above;
            const QueryTruth& t = truth[static_cast<std::size_t>(q0 + r)];
            for (std::size_t i = 0; i < t.matches.size(); ++i)
              if (t.matches[i] >= g0 && t.matches[i] < g0 + columns)
                state.match_scores[i] = s[t.matches[i] - g0];
            if (t.exclude >= g0 && t.exclude < g0 + columns) state.exclude_score = s[t.exclude - g0];
          }
        });
      });

  std::vector<std::int64_t> ranks(static_cast<std::size_t>(n_queries), n_gallery);
  for (std::int64_t q = 0; q < n_queries; ++q) {
    const State& state = states[static_cast<std::size_t>(q)];
    if (!state.active) continue;
    const QueryTruth& t = truth[static_cast<std::size_t>(q)];
    // The best-placed true match: highest score, then lowest index.
    std::int64_t best = -1;
    float threshold = 0;
    for (std::size_t i = 0; i < t.matches.size(); ++i) {
      const std::int64_t m = t.matches[i];
      const float s = state.match_scores[i];
      if (m != t.exclude && (best < 0 || s > threshold || (s == threshold && m < best)))
        best = m, threshold = s;
    }
    if (threshold < state.low || threshold > state.high)
      throw Error(fmt::format("query {}: the score of its true match {} ({}) lies outside the rounding "
                              "bound [{}, {}] of its exact value",
                              q, best, threshold, state.low, state.high),
                  {}, "report this as a bug in workers/recall.cpp");
    // Items placed before it: an equal score wins only at a lower index.
    std::int64_t before = state.above;
    for (const auto& [s, g] : state.band)
      before += g != best && g != t.exclude && (s > threshold || (s == threshold && g < best));
    if (t.exclude >= 0 && state.exclude_score > state.high) --before;
    ranks[static_cast<std::size_t>(q)] = before;
  }
  return ranks;
}

std::vector<std::int64_t> match_ranks_on_device(const torch::Tensor& queries, const torch::Tensor& gallery,
                                                const std::vector<QueryTruth>& truth,
                                                std::size_t block_bytes) {
  check_features(queries, gallery);
  const std::int64_t n_queries = queries.size(0), n_gallery = gallery.size(0);
  check_truth(truth, n_queries, n_gallery);
  if (n_gallery == 0) return std::vector<std::int64_t>(static_cast<std::size_t>(n_queries), 0);

  // Each query's true matches that are not excluded, padded with -1 to the
  // most any query has, and its excluded item (-1: none).
  std::size_t width = 1;
  for (const QueryTruth& t : truth) width = std::max(width, t.matches.size());
  torch::Tensor matches = torch::full({n_queries, static_cast<std::int64_t>(width)}, -1, torch::kLong);
  torch::Tensor exclude = torch::empty({n_queries}, torch::kLong);
  for (std::int64_t q = 0; q < n_queries; ++q) {
    const QueryTruth& t = truth[static_cast<std::size_t>(q)];
    std::int64_t* row = matches.data_ptr<std::int64_t>() + q * static_cast<std::int64_t>(width);
    for (std::int64_t m : t.matches)
      if (m != t.exclude) *row++ = m;
    exclude.data_ptr<std::int64_t>()[q] = t.exclude;
  }
  const torch::TensorOptions longs = torch::TensorOptions(torch::kLong).device(queries.device());
  matches = matches.to(queries.device());
  exclude = exclude.to(queries.device());
  const torch::Tensor items = torch::arange(n_gallery, longs);
  const torch::Tensor ranks = torch::empty({n_queries}, longs);

  const Float32MatmulScope exact;
  const auto floats = static_cast<std::int64_t>(std::max<std::size_t>(block_bytes / sizeof(float), 1));
  const std::int64_t rows =
      std::clamp<std::int64_t>(floats / n_gallery, 1, std::max<std::int64_t>(n_queries, 1));
  const torch::Tensor gallery_t = gallery.t();
  for (std::int64_t q0 = 0; q0 < n_queries; q0 += rows) {
    const std::int64_t count = std::min(rows, n_queries - q0);
    const torch::Tensor scores = queries.narrow(0, q0, count).mm(gallery_t);
    const torch::Tensor block_matches = matches.narrow(0, q0, count);
    const torch::Tensor valid = block_matches >= 0;
    const torch::Tensor match_scores =
        scores.gather(1, block_matches.clamp_min(0)).masked_fill(valid.logical_not(), -kInfinity);
    // The best-placed true match: the highest score, then the lowest index.
    const torch::Tensor score = match_scores.amax(1, /*keepdim=*/true);
    const torch::Tensor best =
        block_matches.masked_fill(valid.logical_and(match_scores == score).logical_not(), n_gallery)
            .amin(1, /*keepdim=*/true);
    // The items placed before it: a higher score, or an equal one at a lower
    // index, other than the excluded item.
    const torch::Tensor before = (scores > score)
                                     .logical_or_((scores == score).logical_and_(items < best))
                                     .logical_and_(items != exclude.narrow(0, q0, count).unsqueeze(1))
                                     .sum(1);
    ranks.narrow(0, q0, count).copy_(before.masked_fill(valid.any(1).logical_not(), n_gallery));
  }
  const torch::Tensor host = ranks.to(torch::kCPU);
  return {host.data_ptr<std::int64_t>(), host.data_ptr<std::int64_t>() + n_queries};
}

std::vector<double> recall_at(const std::vector<std::int64_t>& ranks, const std::vector<std::int64_t>& ks) {
  std::vector<double> out;
  for (std::int64_t k : ks) {
    if (k < 1) throw Error(fmt::format("Recall@K needs K ≥ 1, got {}", k));
    const auto hits = std::count_if(ranks.begin(), ranks.end(), [k](std::int64_t r) { return r < k; });
    out.push_back(ranks.empty() ? 0.0
                                : 100.0 * static_cast<double>(hits) / static_cast<double>(ranks.size()));
  }
  return out;
}

TopK search_topk(const torch::Tensor& queries, const torch::Tensor& gallery, std::int64_t k,
                 const std::vector<std::int64_t>& exclude, std::size_t block_bytes) {
  check_features(queries, gallery);
  const std::int64_t n_queries = queries.size(0), n_gallery = gallery.size(0);
  const std::int64_t candidates = n_gallery - (exclude.empty() ? 0 : 1);
  if (k < 1 || k > candidates)
    throw Error(fmt::format("top-k search needs 1 ≤ k ≤ {} (the gallery size{}), got {}", candidates,
                            exclude.empty() ? "" : " less the excluded item", k));
  if (!exclude.empty() && static_cast<std::int64_t>(exclude.size()) != n_queries)
    throw Error(fmt::format("{} queries but {} excluded indices", n_queries, exclude.size()));
  for (std::size_t q = 0; q < exclude.size(); ++q)
    if (exclude[q] < -1 || exclude[q] >= n_gallery)
      throw Error(fmt::format("query {}: excluded index {} is outside the gallery of {} items", q, exclude[q],
                              n_gallery));

  // One bounded heap per query, kept in the output itself; a tile's row is
  // read against the heap's worst score, so most items cost one comparison.
  TopK out{torch::empty({n_queries, k}, torch::kFloat), torch::empty({n_queries, k}, torch::kLong)};
  float* scores = out.scores.data_ptr<float>();
  std::int64_t* indices = out.indices.data_ptr<std::int64_t>();
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(n_queries), 0);
  for_each_score_tile(
      queries, gallery, tile_shape(n_queries, n_gallery, block_bytes),
      [&](std::int64_t q0, std::int64_t g0, std::int64_t rows, std::int64_t columns, const float* tile) {
        at::parallel_for(0, rows, 16, [&](std::int64_t first, std::int64_t last) {
          for (std::int64_t r = first; r < last; ++r) {
            const std::int64_t q = q0 + r;
            Heap heap{scores + q * k, indices + q * k, k, sizes[static_cast<std::size_t>(q)]};
            const float* s = tile + r * columns;
            const std::int64_t ex = exclude.empty() ? -1 : exclude[static_cast<std::size_t>(q)] - g0;
            float threshold = heap.threshold();
            for (std::int64_t c = 0; c < columns; c += kLanes) {
              const std::int64_t end = std::min(c + kLanes, columns);
              if (end - c == kLanes && count_above(s + c, threshold) == 0) continue;
              for (std::int64_t i = c; i < end; ++i) {
                if (s[i] > threshold && i != ex) {
                  heap.push(s[i], g0 + i);
                  threshold = heap.threshold();
                }
              }
            }
            sizes[static_cast<std::size_t>(q)] = heap.size;
          }
        });
      });
  at::parallel_for(0, n_queries, 64, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t q = first; q < last; ++q) Heap{scores + q * k, indices + q * k, k, k}.sort();
  });
  return out;
}

std::pair<std::int64_t, std::int64_t> shard_range(std::int64_t n, int rank, int size) {
  const std::int64_t base = n / size, extra = n % size;
  const std::int64_t begin = rank * base + std::min<std::int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

torch::Tensor embed_sharded(const Comm& comm, std::int64_t n, std::int64_t batch,
                            const std::function<torch::Tensor(std::int64_t, std::int64_t)>& embed) {
  if (batch < 1) throw Error(fmt::format("the evaluation batch must be at least 1, got {}", batch));
  torch::NoGradGuard no_grad;
  const auto [begin, end] = shard_range(n, comm.rank(), comm.size());
  std::vector<torch::Tensor> parts;
  for (std::int64_t b = begin; b < end || parts.empty(); b += batch) {
    const std::int64_t e = std::min(end, b + batch);
    torch::Tensor features = embed(b, e);
    if (features.dim() != 2 || features.size(0) != e - b)
      throw Error(fmt::format("embedding items [{}, {}) gave a tensor of shape [{}], expected [{}, D]", b, e,
                              fmt::join(features.sizes(), ", "), e - b));
    parts.push_back(features.to(torch::kCPU));
  }
  return comm.gather(torch::cat(parts), 0);
}

}  // namespace cir::workers
