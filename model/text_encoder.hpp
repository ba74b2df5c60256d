// A text encoder maps a padded batch of token ids to one feature per text.
// RoBERTa (the feature is the last hidden state at position 0, 768 wide) and
// the LSTM encoder implement it; the model's text head (BatchNorm1d → Linear
// → optional dropout) sits on top of it.
#pragma once

#include <torch/torch.h>

namespace cir::model {

class TextEncoderImpl : public torch::nn::Module {
 public:
  // ids: [B, L] int64, padded with the tokenizer's pad_id.
  // mask: [B, L] int64, 1 for a token and 0 for padding.
  // Returns [B, dim()] float.
  virtual torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask) = 0;
  virtual std::int64_t dim() const = 0;
};

}  // namespace cir::model
