#include "workers/trainer_weights.hpp"

#include "common/error.hpp"

namespace cir::workers {

namespace {

std::string optimizer_key(const torch::Tensor& parameter) {
  return c10::guts::to_string(parameter.unsafeGetTensorImpl());
}

const torch::Tensor& find(const std::map<std::string, torch::Tensor>& tensors, const std::string& name,
                          const torch::Tensor& like, const std::string& what) {
  const auto it = tensors.find(name);
  if (it == tensors.end()) {
    throw Error("checkpoint has no tensor '" + name + "'", Where{.file = what},
                "the checkpoint was written by another model; delete it to restart the trial");
  }
  if (it->second.sizes() != like.sizes()) {
    throw Error("checkpoint tensor '" + name + "' has shape " + c10::str(it->second.sizes()) +
                    ", the model's has " + c10::str(like.sizes()),
                Where{.file = what},
                "the checkpoint was written by another model; delete it to restart the trial");
  }
  return it->second;
}

}  // namespace

std::map<std::string, torch::Tensor> weight_tensors(torch::nn::Module& net, torch::optim::SGD& optimizer) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& item : net.named_parameters()) {
    tensors["model/" + item.key()] = item.value().detach().to(torch::kCPU).clone();
    const auto state = optimizer.state().find(optimizer_key(item.value()));
    if (state != optimizer.state().end()) {
      const auto& sgd = static_cast<const torch::optim::SGDParamState&>(*state->second);
      if (sgd.momentum_buffer().defined()) {
        tensors["momentum/" + item.key()] = sgd.momentum_buffer().to(torch::kCPU).clone();
      }
    }
  }
  for (const auto& item : net.named_buffers()) {
    tensors["model/" + item.key()] = item.value().to(torch::kCPU).clone();
  }
  return tensors;
}

void load_weights(torch::nn::Module& net, torch::optim::SGD& optimizer,
                  const std::map<std::string, torch::Tensor>& tensors, const std::string& what) {
  torch::NoGradGuard no_grad;
  for (auto& item : net.named_parameters()) {
    torch::Tensor parameter = item.value();
    parameter.copy_(find(tensors, "model/" + item.key(), parameter, what));
    const auto momentum = tensors.find("momentum/" + item.key());
    const std::string key = optimizer_key(parameter);
    if (momentum == tensors.end()) {
      optimizer.state().erase(key);
      continue;
    }
    auto state = std::make_unique<torch::optim::SGDParamState>();
    state->momentum_buffer(find(tensors, momentum->first, parameter, what).to(parameter.device()).clone());
    optimizer.state()[key] = std::move(state);
  }
  for (auto& item : net.named_buffers()) {
    torch::Tensor buffer = item.value();
    buffer.copy_(find(tensors, "model/" + item.key(), buffer, what));
  }
}

}  // namespace cir::workers
