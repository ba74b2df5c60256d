#include "model/losses.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.hpp"

namespace cir::model {
namespace {

// The contract's choices for a form key are "paper" and "reference".
Form read_form(const cir::Params& params, const keys::StringKey& key) {
  return params.get(key) == "paper" ? Form::paper : Form::reference;
}

void check_features(const torch::Tensor& fs, const torch::Tensor& ft, const char* what) {
  if (fs.dim() != 2 || fs.sizes() != ft.sizes() || fs.size(0) < 1)
    throw Error(fmt::format("{}: f_s and f_t must both be [B, D] with B ≥ 1, got {} and {}", what,
                            fmt::join(fs.sizes(), "x"), fmt::join(ft.sizes(), "x")));
}

}  // namespace

LossOptions loss_options(const cir::Params& params) {
  LossOptions options;
  options.gamma0 = params.get(keys::loss::gamma0);
  options.w1 = params.get(keys::loss::w1);
  options.w2 = params.get(keys::loss::w2);
  options.augmenter = read_form(params, keys::loss::augmenter);
  options.uncertainty = read_form(params, keys::loss::uncertainty);
  return options;
}

double gamma_at(double gamma0, int epoch, int epochs) {
  if (epochs < 1 || epoch < 0)
    throw Error(fmt::format("γ schedule: epoch {} of {} is out of range", epoch, epochs));
  if (std::isinf(gamma0)) return 0.0;
  return std::exp(-gamma0 * static_cast<double>(epoch) / static_cast<double>(epochs));
}

torch::Tensor info_nce(const torch::Tensor& fs, const torch::Tensor& ft) {
  check_features(fs, ft, "info_nce");
  const torch::Tensor logits = torch::matmul(fs, ft.t());
  const torch::Tensor labels =
      torch::arange(fs.size(0), torch::TensorOptions().dtype(torch::kLong).device(fs.device()));
  return torch::nn::functional::cross_entropy(logits, labels);
}

torch::Tensor augment(const torch::Tensor& ft, Form form, double w1, double w2, at::Generator gen) {
  if (ft.dim() != 2 || ft.size(1) < 2)
    throw Error(fmt::format("augment: f_t must be [B, D] with D ≥ 2, got {}", fmt::join(ft.sizes(), "x")));
  const auto draw_options = torch::TensorOptions().dtype(ft.scalar_type()).device(gen.device());
  const torch::Tensor noise = torch::randn({2, ft.size(0), ft.size(1)}, gen, draw_options).to(ft.device());
  const torch::Tensor eps1 = noise[0], eps2 = noise[1];

  const torch::Tensor mean = ft.mean(1, /*keepdim=*/true);
  const torch::Tensor std = ft.std(1, /*unbiased=*/true, /*keepdim=*/true);
  const torch::Tensor mu = mean.detach(), sigma = std.detach();
  if (form == Form::paper) {
    const torch::Tensor alpha = 1 + w1 * sigma * eps1;
    const torch::Tensor beta = mu + w2 * sigma * eps2;
    return alpha * (ft - mean) / std + beta;
  }
  const torch::Tensor biased_var = ft.var(1, /*unbiased=*/false, /*keepdim=*/true);
  const torch::Tensor normalised = (ft - mean) / torch::sqrt(biased_var + 1e-5);
  const torch::Tensor alpha = w1 * (1 + sigma * eps1);
  const torch::Tensor beta = w2 * (mu + sigma * eps2);
  return alpha * normalised + beta;
}

torch::Tensor uncertainty_loss(const torch::Tensor& fs, const torch::Tensor& ft_hat, Form form) {
  check_features(fs, ft_hat, "uncertainty_loss");
  const torch::Tensor info = info_nce(fs, ft_hat);
  const torch::Tensor s = ft_hat.std();
  if (form == Form::paper) {
    const torch::Tensor var = s * s;
    return info / (2 * var) + 0.5 * torch::log(var);
  }
  return 0.5 * (torch::exp(-s) * info + s);
}

LossTerms total_loss(const torch::Tensor& fs, const torch::Tensor& ft, const LossOptions& options, int epoch,
                     int epochs, at::Generator gen) {
  check_features(fs, ft, "total_loss");
  LossTerms terms;
  terms.gamma = gamma_at(options.gamma0, epoch, epochs);
  terms.info = info_nce(fs, ft);
  const torch::Tensor ft_hat = augment(ft, options.augmenter, options.w1, options.w2, std::move(gen));
  terms.u = uncertainty_loss(fs, ft_hat, options.uncertainty);
  terms.aug_std = ft_hat.detach().std();
  terms.total = terms.gamma == 0.0 ? terms.info : terms.gamma * terms.u + (1 - terms.gamma) * terms.info;
  return terms;
}

}  // namespace cir::model
