#include "workers/trainer_eval.hpp"

#include "common/fault.hpp"
#include "datasets/loader.hpp"
#include "workers/group_errors.hpp"
#include "workers/precision.hpp"
#include "workers/recall.hpp"

namespace cir::workers {

namespace {

// This rank's features of one split: gallery [g, D] and queries [q, D], in
// float32 whatever the trial's precision.
std::pair<torch::Tensor, torch::Tensor> local_features(model::ComposedModelImpl& net,
                                                       datasets::EvalLoader& loader, torch::Device device,
                                                       Precision precision) {
  const AutocastScope autocast(precision, device);
  std::vector<torch::Tensor> gallery, queries;
  while (auto batch = loader.next_gallery()) {
    gallery.push_back(net.image_features(batch->images.to(device)).to(torch::kCPU, torch::kFloat));
  }
  while (auto batch = loader.next_query()) {
    queries.push_back(net.compose(batch->images.to(device), batch->ids.to(device), batch->mask.to(device))
                          .to(torch::kCPU, torch::kFloat));
  }
  const std::int64_t dim = net.options().feature_dim;
  const auto join = [dim](const std::vector<torch::Tensor>& parts) {
    return parts.empty() ? torch::zeros({0, dim}) : torch::cat(parts);
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
      datasets::EvalLoader loader(dataset, tokenizer, params, s, comm.rank(), comm.size());
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
    for (std::size_t k = 0; k < ks.size(); ++k) {
      recalls.push_back(
          RecallValue{.split = split.name, .k = static_cast<std::int32_t>(ks[k]), .value = values[k]});
    }
  }
  return recalls;
}

}  // namespace cir::workers
