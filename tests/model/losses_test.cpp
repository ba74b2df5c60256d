// The losses and the augmenter against values computed by hand (plain loops
// over the elements), the γ schedule including γ0 = ∞, gradients of L_u
// against central differences (double precision), and the config reader.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "model/losses.hpp"

namespace cir::model {
namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

at::Generator generator(std::uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

// Element accessors over a [B, D] double tensor.
double at2(const torch::Tensor& t, std::int64_t i, std::int64_t j) { return t[i][j].item<double>(); }

double info_nce_by_hand(const torch::Tensor& fs, const torch::Tensor& ft) {
  const std::int64_t b = fs.size(0), d = fs.size(1);
  double total = 0;
  for (std::int64_t i = 0; i < b; ++i) {
    std::vector<double> logits(b);
    for (std::int64_t j = 0; j < b; ++j)
      for (std::int64_t k = 0; k < d; ++k) logits[j] += at2(fs, i, k) * at2(ft, j, k);
    double sum = 0;
    for (double l : logits) sum += std::exp(l);
    total += std::log(sum) - logits[i];
  }
  return total / static_cast<double>(b);
}

double std_by_hand(const std::vector<double>& values, bool unbiased) {
  double mean = 0;
  for (double v : values) mean += v;
  mean /= static_cast<double>(values.size());
  double ss = 0;
  for (double v : values) ss += (v - mean) * (v - mean);
  return std::sqrt(ss / static_cast<double>(values.size() - (unbiased ? 1 : 0)));
}

std::vector<double> row(const torch::Tensor& t, std::int64_t i) {
  std::vector<double> out;
  for (std::int64_t k = 0; k < t.size(1); ++k) out.push_back(at2(t, i, k));
  return out;
}

TEST(Gamma, FollowsTheFormulaAndInfinityIsZeroFromEpochZero) {
  EXPECT_DOUBLE_EQ(gamma_at(1.0, 0, 60), 1.0);
  EXPECT_DOUBLE_EQ(gamma_at(1.0, 30, 60), std::exp(-0.5));
  EXPECT_DOUBLE_EQ(gamma_at(2.0, 15, 60), std::exp(-0.5));
  EXPECT_DOUBLE_EQ(gamma_at(0.0, 59, 60), 1.0);
  for (int epoch : {0, 1, 30, 59}) EXPECT_EQ(gamma_at(inf, epoch, 60), 0.0) << epoch;
  EXPECT_THROW(gamma_at(1.0, 0, 0), Error);
}

TEST(InfoNce, IsCrossEntropyOverTheBatchSimilarities) {
  const torch::Tensor fs = torch::tensor({{1.0, 0.0}, {0.0, 1.0}}, torch::kDouble);
  const torch::Tensor ft = torch::tensor({{1.0, 0.0}, {1.0, 1.0}}, torch::kDouble);
  // Row 0: logits (1, 1), label 0 → log 2. Row 1: logits (0, 1), label 1 → log(1 + e⁻¹).
  EXPECT_NEAR(info_nce(fs, ft).item<double>(), 0.5 * (std::log(2.0) + std::log1p(std::exp(-1.0))), 1e-12);
  torch::manual_seed(0);
  const torch::Tensor a = torch::randn({5, 7}, torch::kDouble), b = torch::randn({5, 7}, torch::kDouble);
  EXPECT_NEAR(info_nce(a, b).item<double>(), info_nce_by_hand(a, b), 1e-12);
  EXPECT_THROW(info_nce(a, torch::randn({4, 7})), Error);
}

// The noise augment() draws: ε1 then ε2, [B, D] each, from the same seed.
std::pair<torch::Tensor, torch::Tensor> noise(std::uint64_t seed, std::int64_t b, std::int64_t d) {
  const torch::Tensor both =
      torch::randn({2, b, d}, generator(seed), torch::TensorOptions().dtype(torch::kDouble));
  return {both[0], both[1]};
}

TEST(Augmenter, ReferenceFormScalesTheWholeSample) {
  torch::manual_seed(0);
  const torch::Tensor ft = torch::randn({3, 6}, torch::kDouble) * 2 + 1;
  const double w1 = 0.5, w2 = 2.0;
  const torch::Tensor out = augment(ft, Form::reference, w1, w2, generator(42));
  const auto [e1, e2] = noise(42, 3, 6);
  for (std::int64_t i = 0; i < 3; ++i) {
    const std::vector<double> f = row(ft, i);
    double mu = 0;
    for (double v : f) mu += v;
    mu /= 6;
    const double sigma = std_by_hand(f, true), biased = std_by_hand(f, false);
    for (std::int64_t k = 0; k < 6; ++k) {
      const double alpha = w1 * (1 + sigma * at2(e1, i, k));
      const double beta = w2 * (mu + sigma * at2(e2, i, k));
      const double expected = alpha * (f[k] - mu) / std::sqrt(biased * biased + 1e-5) + beta;
      EXPECT_NEAR(at2(out, i, k), expected, 1e-12) << i << "," << k;
    }
  }
}

TEST(Augmenter, PaperFormScalesOnlyTheSpread) {
  torch::manual_seed(1);
  const torch::Tensor ft = torch::randn({2, 5}, torch::kDouble) - 0.5;
  const double w1 = 0.3, w2 = 1.7;
  const torch::Tensor out = augment(ft, Form::paper, w1, w2, generator(7));
  const auto [e1, e2] = noise(7, 2, 5);
  for (std::int64_t i = 0; i < 2; ++i) {
    const std::vector<double> f = row(ft, i);
    double mu = 0;
    for (double v : f) mu += v;
    mu /= 5;
    const double sigma = std_by_hand(f, true);
    for (std::int64_t k = 0; k < 5; ++k) {
      const double alpha = 1 + w1 * sigma * at2(e1, i, k);
      const double beta = mu + w2 * sigma * at2(e2, i, k);
      EXPECT_NEAR(at2(out, i, k), alpha * (f[k] - mu) / sigma + beta, 1e-12) << i << "," << k;
    }
  }
}

TEST(Augmenter, TheSameGeneratorStateGivesTheSameNoiseAndZeroWeightsGiveZero) {
  const torch::Tensor ft = torch::randn({4, 8});
  EXPECT_TRUE(torch::equal(augment(ft, Form::reference, 1, 1, generator(3)),
                           augment(ft, Form::reference, 1, 1, generator(3))));
  EXPECT_FALSE(torch::equal(augment(ft, Form::reference, 1, 1, generator(3)),
                            augment(ft, Form::reference, 1, 1, generator(4))));
  EXPECT_EQ(augment(ft, Form::reference, 0, 0, generator(3)).abs().max().item<double>(), 0.0);
  // Paper form with w1 = w2 = 0: α = 1, β = μ, the standardised sample shifted back by its mean.
  const torch::Tensor mean = ft.mean(1, true);
  EXPECT_TRUE(torch::allclose(augment(ft, Form::paper, 0, 0, generator(3)),
                              (ft - mean) / ft.std(1, true, true) + mean, 1e-5, 1e-5));
}

TEST(UncertaintyLoss, BothFormsMatchTheirFormulas) {
  torch::manual_seed(2);
  const torch::Tensor fs = torch::randn({4, 3}, torch::kDouble),
                      hat = torch::randn({4, 3}, torch::kDouble) * 0.7;
  std::vector<double> all;
  for (std::int64_t i = 0; i < 4; ++i)
    for (double v : row(hat, i)) all.push_back(v);
  const double s = std_by_hand(all, true), info = info_nce_by_hand(fs, hat);
  EXPECT_NEAR(uncertainty_loss(fs, hat, Form::reference).item<double>(), 0.5 * (std::exp(-s) * info + s),
              1e-12);
  EXPECT_NEAR(uncertainty_loss(fs, hat, Form::paper).item<double>(),
              info / (2 * s * s) + 0.5 * std::log(s * s), 1e-12);
}

TEST(UncertaintyLoss, GradientsMatchCentralDifferences) {
  for (const Form form : {Form::paper, Form::reference}) {
    torch::manual_seed(5);
    const torch::Tensor fs = torch::randn({3, 4}, torch::kDouble).requires_grad_(true);
    const torch::Tensor hat = torch::randn({3, 4}, torch::kDouble).requires_grad_(true);
    uncertainty_loss(fs, hat, form).backward();
    for (const auto& [input, grad] : {std::pair{fs, fs.grad()}, std::pair{hat, hat.grad()}}) {
      for (std::int64_t i = 0; i < input.numel(); ++i) {
        const double h = 1e-6;
        torch::Tensor plus = input.detach().clone(), minus = input.detach().clone();
        plus.view(-1)[i] += h;
        minus.view(-1)[i] -= h;
        const bool is_fs = input.is_same(fs);
        torch::NoGradGuard no_grad;
        const double up =
            uncertainty_loss(is_fs ? plus : fs.detach(), is_fs ? hat.detach() : plus, form).item<double>();
        const double down =
            uncertainty_loss(is_fs ? minus : fs.detach(), is_fs ? hat.detach() : minus, form).item<double>();
        EXPECT_NEAR(grad.view(-1)[i].item<double>(), (up - down) / (2 * h), 1e-7);
      }
    }
  }
}

TEST(TotalLoss, InfinityIsPureInfoNceAndOtherwiseMixesByGamma) {
  torch::manual_seed(3);
  const torch::Tensor fs = torch::randn({6, 8}, torch::kDouble), ft = torch::randn({6, 8}, torch::kDouble);
  LossOptions options;
  options.gamma0 = inf;
  const LossTerms baseline = total_loss(fs, ft, options, 0, 10, generator(1));
  EXPECT_EQ(baseline.gamma, 0.0);
  EXPECT_EQ(baseline.total.item<double>(), info_nce(fs, ft).item<double>());

  options.gamma0 = 1.0;
  const LossTerms mixed = total_loss(fs, ft, options, 4, 10, generator(1));
  const double gamma = std::exp(-0.4);
  EXPECT_DOUBLE_EQ(mixed.gamma, gamma);
  const torch::Tensor hat = augment(ft, Form::reference, 1, 1, generator(1));
  const double u = uncertainty_loss(fs, hat, Form::reference).item<double>();
  EXPECT_NEAR(mixed.u.item<double>(), u, 1e-12);
  EXPECT_NEAR(mixed.total.item<double>(), gamma * u + (1 - gamma) * info_nce(fs, ft).item<double>(), 1e-12);
  EXPECT_NEAR(mixed.aug_std.item<double>(), hat.std().item<double>(), 1e-12);
  // Epoch 0: γ = 1, the uncertainty loss alone.
  EXPECT_NEAR(total_loss(fs, ft, options, 0, 10, generator(1)).total.item<double>(), u, 1e-12);
}

Params params_with(const std::string& overrides) {
  return Params(R"({"loss.gamma0": )" + overrides + R"(, "loss.w1": 1.0, "loss.w2": 0.5,
                   "loss.augmenter": "paper", "loss.uncertainty": "reference"})",
                "t1");
}

TEST(LossOptions, ReadsTheKeysAndNamesABadOne) {
  const LossOptions options = loss_options(params_with(R"("inf")"));
  EXPECT_TRUE(std::isinf(options.gamma0));
  EXPECT_EQ(options.w2, 0.5);
  EXPECT_EQ(options.augmenter, Form::paper);
  EXPECT_EQ(options.uncertainty, Form::reference);
  try {
    loss_options(params_with("-1"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where().key, "loss.gamma0");
  }
  try {
    loss_options(Params(R"({"loss.gamma0": 1, "loss.w1": 1, "loss.w2": 1, "loss.augmenter": "papr",
                            "loss.uncertainty": "paper"})"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where().key, "loss.augmenter");
    EXPECT_NE(std::string(e.what()).find("papr"), std::string::npos);
  }
}

}  // namespace
}  // namespace cir::model
