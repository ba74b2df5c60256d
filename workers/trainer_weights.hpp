// The tensors a trainer checkpoints: "model/<name>" for every parameter and
// buffer of the network (torchvision / HF names), "momentum/<name>" for every
// parameter whose SGD momentum buffer exists. All on the CPU.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

namespace cir::workers {

std::map<std::string, torch::Tensor> weight_tensors(torch::nn::Module& net, torch::optim::SGD& optimizer);

// Copies the tensors back into `net` (on its device) and `optimizer`.
// Throws cir::Error naming `what` (the checkpoint) for a missing tensor or a
// shape that differs: the checkpoint belongs to another model.
void load_weights(torch::nn::Module& net, torch::optim::SGD& optimizer,
                  const std::map<std::string, torch::Tensor>& tensors, const std::string& what);

}  // namespace cir::workers
