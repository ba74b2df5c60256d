#include "workers/trainer_eval.hpp"

#include "common/fault.hpp"
#include "datasets/loader.hpp"
#include "workers/device_feed.hpp"
#include "workers/group_errors.hpp"
#include "workers/precision.hpp"
#include "workers/recall.hpp"

namespace cir::workers {

namespace {

// This rank's features of one split: gallery [g, D] and queries [q, D], in
// float32 whatever the trial's precision, on `device`.
std::pair<torch::Tensor, torch::Tensor> local_features(model::ComposedModelImpl& net,
                                                       datasets::EvalLoader& loader, torch::Device device,
                                                       Precision precision) {
  const AutocastScope autocast(precision, device);
  std::vector<torch::Tensor> gallery, queries;
  DeviceFeed<datasets::GalleryBatch> gallery_batches(
      device, [&] { return loader.next_gallery(); },
      [](datasets::GalleryBatch& b) { return std::vector{&b.images}; });
  while (auto batch = gallery_batches.next()) {
    gallery.push_back(net.image_features(batch->images).to(torch::kFloat));
  }
  DeviceFeed<datasets::QueryBatch> query_batches(
      device, [&] { return loader.next_query(); },
      [](datasets::QueryBatch& b) {
        return std::vector{&b.images, &b.ids, &b.mask};
      });
  while (auto batch = query_batches.next()) {
    queries.push_back(net.compose(batch->images, batch->ids, batch->mask).to(torch::kFloat));
  }
  const std::int64_t dim = net.options().feature_dim;
  const auto join = [dim, device](const std::vector<torch::Tensor>& parts) {
    return parts.empty() ? torch::zeros({0, dim}, torch::TensorOptions().device(device)) : torch::cat(parts);
  };
  return {join(gallery), join(queries)};
}

}  // namespace

std::vector<RecallValue> evaluate(model::ComposedModelImpl& net,
                                  const std::shared_ptr<const datasets::Dataset>& dataset,
                                  const std::shared_ptr<const model::Tokenizer>& tokenizer,
                                  const cir::Params& params, const Comm& comm, torch::Device device) {
  const torch::NoGradGuard no_grad;
  net.eval();
  const std::vector<std::int64_t> ks = params.get(keys::eval::ks);
  std::vector<RecallValue> recalls;
  for (std::size_t s = 0; s < dataset->splits().size(); ++s) {
    const datasets::EvalSplit& split = dataset->splits()[s];
    auto [gallery, queries] = agreed(comm.mpi(), [&] {
      datasets::EvalLoader loader(dataset, tokenizer, params, s, comm.rank(), comm.size(),
                                  host_memory_for(device));
      return local_features(net, loader, device, precision_of(params));
    });
    if (comm.size() > 1) {
      gallery = comm.gather(gallery);
      queries = comm.gather(queries);
    }
    fault_point("eval.split");
    if (!comm.leader()) continue;
    std::vector<QueryTruth> truth;
    truth.reserve(split.queries.size());
    for (const datasets::Query& query : split.queries) {
      truth.push_back(QueryTruth{.matches = query.true_matches, .exclude = query.exclude});
    }
    const std::vector<double> values = recall_at(match_ranks(queries, gallery, truth), ks);
    const auto evaluated = static_cast<std::int64_t>(split.queries.size());
    const auto ranked = static_cast<std::int64_t>(split.gallery.size());
    for (std::size_t k = 0; k < ks.size(); ++k) {
      recalls.push_back(RecallValue{.split = split.name,
                                    .k = static_cast<std::int32_t>(ks[k]),
                                    .value = values[k],
                                    .queries = evaluated,
                                    .queries_total = evaluated + split.dropped_queries,
                                    .gallery = ranked,
                                    .gallery_total = ranked + split.dropped_gallery});
    }
  }
  return recalls;
}

}  // namespace cir::workers
