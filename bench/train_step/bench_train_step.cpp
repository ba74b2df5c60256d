// One training step of the full-scale model in cir: ResNet-50 (layer4 at
// stride 1) + RoBERTa-base (random weights) + the CoSMo compositor, the
// reference augmenter and L_u mixed by γ, backward, and SGD (momentum 0.9,
// weight decay 5e-5, RoBERTa at 0.01× lr) — the same step as
// bench/train_step/reference.py, on the same kind of batch — on the CPU or
// a GPU, in the precision of train.precision as the trainer runs it
// (workers/precision.hpp: TF32 switches, bf16 autocast of the forward
// passes, loss in float32). On CUDA every step ends with a synchronisation.
// Prints the median seconds per step, warm-up steps excluded.
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench.hpp"
#include "common/keys.hpp"
#include "common/params.hpp"
#include "model/composed.hpp"
#include "model/losses.hpp"
#include "model/text/roberta.hpp"
#include "workers/precision.hpp"

namespace {

// The values the contract allows for `key`, for CLI11's check.
std::vector<std::string> choices(const cir::keys::Key& key) {
  const auto view = key.choices.view();
  return {view.begin(), view.end()};
}

}  // namespace

int main(int argc, char** argv) {
  int batch = 8, size = 224, tokens = 32, steps = 3, warmup = 1, threads = 2;
  std::string device_name = "cpu", precision_name = "fp32";
  CLI::App app{"cir's training step of the full-scale model; prints the median seconds per step"};
  app.add_option("--batch", batch, "global batch")->capture_default_str();
  app.add_option("--size", size, "image side (px)")->capture_default_str();
  app.add_option("--tokens", tokens, "tokens per caption (padded)")->capture_default_str();
  app.add_option("--steps", steps, "timed steps")->capture_default_str();
  app.add_option("--warmup", warmup, "untimed steps before them")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "intra-op threads")->capture_default_str();
  app.add_option("--device", device_name, "as train.device")
      ->capture_default_str()
      ->check(CLI::IsMember(choices(cir::keys::train::device)));
  app.add_option("--precision", precision_name, "as train.precision")
      ->capture_default_str()
      ->check(CLI::IsMember(choices(cir::keys::train::precision)));
  CLI11_PARSE(app, argc, argv);
  const bool cuda = device_name == "cuda";
  if (cuda && !torch::cuda::is_available()) {
    std::fprintf(stderr, "bench_train_step: --device cuda, but this build of LibTorch sees no GPU\n");
    return 2;
  }
  const torch::Device device = cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  using cir::workers::Precision;
  const Precision precision = cir::workers::precision_of(cir::Params(
      fmt::format(R"({{"{}": "{}"}})", cir::keys::train::precision.name, precision_name), "bench"));
  cir::workers::apply_matmul_precision(precision);
  torch::set_num_threads(threads);
  torch::manual_seed(0);

  using namespace cir::model;
  ModelOptions options;  // ResNet-50, width 64, layer4 at stride 1, 512-d features, 8 heads
  ComposedModel model(options, std::make_shared<RobertaEncoderImpl>());
  model->to(device);
  model->train();
  std::vector<torch::optim::OptimizerParamGroup> groups;
  const double lr = 0.04;
  for (const ParamGroup& group : model->parameter_groups(0.01, /*text_pretrained=*/true))
    groups.emplace_back(group.params,
                        std::make_unique<torch::optim::SGDOptions>(
                            torch::optim::SGDOptions(lr * group.lr_factor).momentum(0.9).weight_decay(5e-5)));
  torch::optim::SGD optimiser(groups, torch::optim::SGDOptions(lr).momentum(0.9).weight_decay(5e-5));

  torch::Tensor reference = torch::randn({batch, 3, size, size});
  torch::Tensor target = torch::randn({batch, 3, size, size});
  torch::Tensor ids = torch::randint(3, 50265, {batch, tokens}, torch::kLong);
  torch::Tensor mask = torch::ones({batch, tokens}, torch::kLong);
  for (int i = 0; i < batch; ++i) {  // captions of different lengths: <s> … </s> then padding
    const int n = tokens - (i * 3) % (tokens / 2);
    ids[i][0] = 0;
    ids[i][n - 1] = 2;
    ids[i].narrow(0, n, tokens - n).fill_(1);
    mask[i].narrow(0, n, tokens - n).fill_(0);
  }
  reference = reference.to(device);
  target = target.to(device);
  ids = ids.to(device);
  mask = mask.to(device);
  LossOptions loss;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);

  // The trainer's step (workers/trainer.cpp), without its data and ranks.
  auto step = [&] {
    optimiser.zero_grad();
    torch::Tensor fs, ft;
    {
      const cir::workers::AutocastScope autocast(precision, device);
      ft = model->image_features(target);
      fs = model->compose(reference, ids, mask);
    }
    total_loss(fs.to(torch::kFloat), ft.to(torch::kFloat), loss, 1, 60, gen).total.backward();
    optimiser.step();
    if (cuda) torch::cuda::synchronize();
  };
  const std::vector<double> seconds = cir::bench::time_calls(step, steps, warmup);
  std::printf("%.4f\n", cir::bench::median(seconds));
}
