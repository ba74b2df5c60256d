#include "workers/recall.hpp"

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <string>

#include "common/error.hpp"

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

std::int64_t rows_per_block(std::int64_t gallery_size, std::size_t block_bytes) {
  const auto row_bytes = static_cast<std::size_t>(std::max<std::int64_t>(gallery_size, 1)) * sizeof(float);
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(block_bytes / row_bytes));
}

// Scores of queries [begin, end) against the whole gallery, as float on the host.
torch::Tensor score_block(const torch::Tensor& queries, const torch::Tensor& gallery_t, std::int64_t begin,
                          std::int64_t end) {
  return queries.narrow(0, begin, end - begin).matmul(gallery_t).to(torch::kCPU, torch::kFloat).contiguous();
}

}  // namespace

std::vector<std::int64_t> match_ranks(const torch::Tensor& queries, const torch::Tensor& gallery,
                                      const std::vector<QueryTruth>& truth, std::size_t block_bytes) {
  check_features(queries, gallery);
  const std::int64_t n_queries = queries.size(0), n_gallery = gallery.size(0);
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

  std::vector<std::int64_t> ranks(static_cast<std::size_t>(n_queries), n_gallery);
  const torch::Tensor gallery_t = gallery.t();
  const std::int64_t block = rows_per_block(n_gallery, block_bytes);
  for (std::int64_t begin = 0; begin < n_queries; begin += block) {
    const std::int64_t end = std::min(n_queries, begin + block);
    const torch::Tensor scores = score_block(queries, gallery_t, begin, end);
    const float* base = scores.data_ptr<float>();
    at::parallel_for(begin, end, 1, [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t q = first; q < last; ++q) {
        const float* s = base + (q - begin) * n_gallery;
        const QueryTruth& t = truth[static_cast<std::size_t>(q)];
        // The best-placed true match: highest score, then lowest index.
        std::int64_t best = -1;
        for (std::int64_t m : t.matches)
          if (m != t.exclude && (best < 0 || s[m] > s[best] || (s[m] == s[best] && m < best))) best = m;
        if (best < 0) continue;
        // Items placed before it: an equal score wins only at a lower index.
        const float threshold = s[best];
        std::int64_t before = 0;
        for (std::int64_t g = 0; g < best; ++g) before += s[g] >= threshold;
        for (std::int64_t g = best + 1; g < n_gallery; ++g) before += s[g] > threshold;
        const std::int64_t ex = t.exclude;
        if (ex >= 0 && (s[ex] > threshold || (s[ex] == threshold && ex < best))) --before;
        ranks[static_cast<std::size_t>(q)] = before;
      }
    });
  }
  return ranks;
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

  TopK out{torch::empty({n_queries, k}, torch::kFloat), torch::empty({n_queries, k}, torch::kLong)};
  const torch::Tensor gallery_t = gallery.t();
  const std::int64_t block = rows_per_block(n_gallery, block_bytes);
  for (std::int64_t begin = 0; begin < n_queries; begin += block) {
    const std::int64_t end = std::min(n_queries, begin + block);
    torch::Tensor scores = score_block(queries, gallery_t, begin, end);
    if (!exclude.empty()) {
      float* s = scores.data_ptr<float>();
      for (std::int64_t q = begin; q < end; ++q) {
        const std::int64_t ex = exclude[static_cast<std::size_t>(q)];
        if (ex >= n_gallery)
          throw Error(fmt::format("query {}: excluded index {} is outside the gallery", q, ex));
        if (ex >= 0) s[(q - begin) * n_gallery + ex] = -std::numeric_limits<float>::infinity();
      }
    }
    auto [values, indices] = scores.topk(k, 1, /*largest=*/true, /*sorted=*/true);
    out.scores.narrow(0, begin, end - begin).copy_(values);
    out.indices.narrow(0, begin, end - begin).copy_(indices);
  }
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
