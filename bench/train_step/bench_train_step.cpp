// One training step of the full-scale model in cir: ResNet-50 (layer4 at
// stride 1) + RoBERTa-base (random weights) + the CoSMo compositor, the
// reference augmenter and L_u mixed by γ, backward, and SGD (momentum 0.9,
// weight decay 5e-5, RoBERTa at 0.01× lr) — the same step as
// bench/train_step/reference.py, on the same kind of batch.
// Prints the median seconds per step.
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>

#include "bench/bench.hpp"
#include "model/composed.hpp"
#include "model/losses.hpp"
#include "model/text/roberta.hpp"

int main(int argc, char** argv) {
  int batch = 8, size = 224, tokens = 32, steps = 3, threads = 2;
  CLI::App app{"cir's training step of the full-scale model; prints the median seconds per step"};
  app.add_option("--batch", batch, "global batch")->capture_default_str();
  app.add_option("--size", size, "image side (px)")->capture_default_str();
  app.add_option("--tokens", tokens, "tokens per caption (padded)")->capture_default_str();
  app.add_option("--steps", steps, "timed steps (after one warm-up)")->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);
  torch::manual_seed(0);

  using namespace cir::model;
  ModelOptions options;  // ResNet-50, width 64, layer4 at stride 1, 512-d features, 8 heads
  ComposedModel model(options, std::make_shared<RobertaEncoderImpl>());
  model->train();
  std::vector<torch::optim::OptimizerParamGroup> groups;
  const double lr = 0.04;
  for (const ParamGroup& group : model->parameter_groups(0.01, /*text_pretrained=*/true))
    groups.emplace_back(group.params,
                        std::make_unique<torch::optim::SGDOptions>(
                            torch::optim::SGDOptions(lr * group.lr_factor).momentum(0.9).weight_decay(5e-5)));
  torch::optim::SGD optimiser(groups, torch::optim::SGDOptions(lr).momentum(0.9).weight_decay(5e-5));

  const torch::Tensor reference = torch::randn({batch, 3, size, size});
  const torch::Tensor target = torch::randn({batch, 3, size, size});
  torch::Tensor ids = torch::randint(3, 50265, {batch, tokens}, torch::kLong);
  torch::Tensor mask = torch::ones({batch, tokens}, torch::kLong);
  for (int i = 0; i < batch; ++i) {  // captions of different lengths: <s> … </s> then padding
    const int n = tokens - (i * 3) % (tokens / 2);
    ids[i][0] = 0;
    ids[i][n - 1] = 2;
    ids[i].narrow(0, n, tokens - n).fill_(1);
    mask[i].narrow(0, n, tokens - n).fill_(0);
  }
  LossOptions loss;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);

  auto step = [&] {
    optimiser.zero_grad();
    const torch::Tensor fs = model->compose(reference, ids, mask);
    const torch::Tensor ft = model->image_features(target);
    total_loss(fs, ft, loss, 1, 60, gen).total.backward();
    optimiser.step();
  };
  const std::vector<double> seconds = cir::bench::time_calls(step, steps, /*warmup=*/1);
  std::printf("%.4f\n", cir::bench::median(seconds));
}
