// The training objective (docs/paper-notes.md "Augmenter" and the two sections after it).
// The trainer calls total_loss on the GLOBAL batch (features all-gathered
// with autograd), so every rank computes the same loss from the same noise.
#pragma once

#include <string>

#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include "common/params.hpp"

namespace cir::model {

enum class Form { paper, reference };

struct LossOptions {
  double gamma0 = 1.0;  // +inf = the baseline: γ = 0 at every epoch
  double w1 = 1.0;      // augmenter scale of α
  double w2 = 1.0;      // augmenter scale of β
  Form augmenter = Form::reference;
  Form uncertainty = Form::reference;
};

// loss.gamma0, loss.w1, loss.w2, loss.augmenter, loss.uncertainty; a value
// out of range or an unknown form is a cir::Error naming the key.
LossOptions loss_options(const cir::Params& params);

// γ = exp(−γ0·epoch/epochs), epoch counted from 0; γ0 = +inf gives 0 at
// every epoch, epoch 0 included (∞·0 taken as ∞).
double gamma_at(double gamma0, int epoch, int epochs);

// Batch-based classification: cross-entropy of logits fs·ftᵀ [B × B]
// against labels 0…B−1, mean over the batch.
torch::Tensor info_nce(const torch::Tensor& fs, const torch::Tensor& ft);

// The augmenter f_t [B, D] → f̂_t, with μ, σ each sample's mean and
// unbiased std over its D dims and ε1, ε2 ~ N(0, 1) drawn per element from
// `gen` (on its device, then moved to f_t's): the first B·D values fill
// ε1 row-major, the next B·D fill ε2.
//   paper     (Eq. 1, 6): f̂ = α·(f − μ)/σ + β,  α = 1 + w1·σ·ε1,  β = μ + w2·σ·ε2
//   reference:            f̂ = α·IN(f) + β,       α = w1·(1 + σ·ε1), β = w2·(μ + σ·ε2)
//                         IN = (f − μ)/√(biased var + 1e-5)
// α and β carry no gradient (as torch.normal's samples do not); the
// normalisation of f does.
torch::Tensor augment(const torch::Tensor& ft, Form form, double w1, double w2, at::Generator gen);

// L_u(f_s, f̂_t) with s = std(f̂_t) over the whole B × D tensor (unbiased,
// not detached):
//   paper, Eq. 3: L_info(f_s, f̂_t)/(2s²) + ½·log s²
//   reference:    ½·(exp(−s)·L_info(f_s, f̂_t) + s)
torch::Tensor uncertainty_loss(const torch::Tensor& fs, const torch::Tensor& ft_hat, Form form);

struct LossTerms {
  torch::Tensor total;    // γ·u + (1 − γ)·info (just info when γ = 0)
  torch::Tensor info;     // L_info(f_s, f_t)
  torch::Tensor u;        // L_u(f_s, f̂_t), computed at every γ so it can be logged
  torch::Tensor aug_std;  // s = std(f̂_t), detached
  double gamma = 0.0;
};

LossTerms total_loss(const torch::Tensor& fs, const torch::Tensor& ft, const LossOptions& options, int epoch,
                     int epochs, at::Generator gen);

}  // namespace cir::model
