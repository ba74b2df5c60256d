// Exact retrieval evaluation: Recall@K of composed queries against a gallery
// by inner product, computed in blocks of query rows so that memory stays
// bounded, and the sharded feature computation that feeds it.
//
// Protocol. Query q ranks every gallery item g except its excluded one (the
// reference image in datasets whose gallery contains it) by score
// s(q, g) = <query_q, gallery_g>, higher first, ties broken by the lower
// gallery index. A query can have several true matches; its rank is the
// 0-based position of its best-placed true match (an excluded true match
// does not count). Recall@K is the percentage of queries whose rank is < K.
// A query without any (non-excluded) true match never counts as a hit.
//
// Speed and memory. Scores are computed one tile at a time (one matrix
// product: up to 2,048 gallery items by as many queries as fit in
// `block_bytes`), gallery tiles in gallery order, and each tile is consumed
// while it is in cache: search_topk keeps a bounded heap per query and
// reads a row against the heap's worst score, match_ranks counts the items
// above a narrow band around the best true match's score (its exact value
// widened by the float rounding bound) and keeps the few inside the band,
// which are placed once the tiles have given the match's own float score.
// So the peak beyond the inputs and outputs is the tile, block_bytes, plus
// those few items: at Fashion200k scale (33,480 queries, ~30k gallery
// items, 512 dims) the inputs take ~130 MB and the default tile 8 MiB.
//
// Features on a GPU stay there: match_ranks() ranks them on their device
// (match_ranks_on_device), and only the ranks come back; search_topk()
// multiplies its tiles on the device and copies each to the host. Both
// multiply in full float32 whatever the trial's precision (TF32 off).
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "workers/comm.hpp"

namespace cir::workers {

inline constexpr std::size_t kDefaultEvalBlockBytes = std::size_t{8} << 20;

// What is true about one query: its matching gallery indices and the gallery
// index it must not be compared with (-1: none).
struct QueryTruth {
  std::vector<std::int64_t> matches;
  std::int64_t exclude = -1;
};

// The rank of each query's best-placed true match (see above), or the
// gallery size when it has none. queries [Q, D], gallery [G, D], both float
// on the same device; truth has Q entries. Throws cir::Error for shapes that
// disagree, indices out of range and non-finite features.
std::vector<std::int64_t> match_ranks(const torch::Tensor& queries, const torch::Tensor& gallery,
                                      const std::vector<QueryTruth>& truth,
                                      std::size_t block_bytes = kDefaultEvalBlockBytes);

// match_ranks() on the features' own device, a block of query rows at a
// time: the block's scores against the whole gallery (one matrix product
// of at most block_bytes of float scores, at least one row), the best true
// match's score and index taken from them, and the rank counted as the
// items scoring strictly higher plus those scoring the same at a lower
// index, the excluded item left out. Every comparison reads those same
// scores, so the ranks follow the protocol exactly; the peak beyond the
// inputs is the block's scores and three byte masks of the same shape.
// match_ranks() uses it for features off the host; it runs on the CPU too,
// where the tests compare it with match_ranks(). The same checks and errors.
std::vector<std::int64_t> match_ranks_on_device(const torch::Tensor& queries, const torch::Tensor& gallery,
                                                const std::vector<QueryTruth>& truth,
                                                std::size_t block_bytes = kDefaultEvalBlockBytes);

// Recall@K in percent (0–100) for each K of `ks`, from match_ranks().
std::vector<double> recall_at(const std::vector<std::int64_t>& ranks, const std::vector<std::int64_t>& ks);

// The k best gallery items of each query (scores and indices [Q, k], best
// first: higher score, then lower index, so ties at the k-th place keep
// the lower index), excluding exclude[q] (-1: none) when exclude is not
// empty; tiled like match_ranks. Throws cir::Error for a k outside
// [1, candidates] and an excluded index outside the gallery.
struct TopK {
  torch::Tensor scores, indices;
};
TopK search_topk(const torch::Tensor& queries, const torch::Tensor& gallery, std::int64_t k,
                 const std::vector<std::int64_t>& exclude = {},
                 std::size_t block_bytes = kDefaultEvalBlockBytes);

// The contiguous slice [first, second) of n items that rank `rank` of `size`
// handles: consecutive in rank order, sizes differing by at most one.
std::pair<std::int64_t, std::int64_t> shard_range(std::int64_t n, int rank, int size);

// Features of n items computed across the group: each rank calls
// embed(begin, end) for consecutive batches of at most `batch` items of its
// shard_range (a rank with an empty shard calls embed(b, b) once, which must
// return [0, D]), under NoGradGuard, and the leader receives all n rows in
// order ([n, D] on the host); the other ranks get an undefined tensor.
torch::Tensor embed_sharded(const Comm& comm, std::int64_t n, std::int64_t batch,
                            const std::function<torch::Tensor(std::int64_t begin, std::int64_t end)>& embed);

}  // namespace cir::workers
