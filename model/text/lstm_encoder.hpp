// The LSTM text encoder (TIRG/CoSMo's alternative to RoBERTa): word
// embedding → one-layer LSTM → the hidden state after the caption's last
// word. Last valid state rather than the mean over words because that is
// what the reference (TIRG's TextLSTMModel, reused by CoSMo) reads, so the
// LSTM rows of the ablations compare with theirs; it also makes padding
// irrelevant by construction: the LSTM runs left to right, so the state at
// the last real word never sees the pads after it. A caption with no tokens
// (all mask 0) gets a zero feature.
#pragma once

#include <torch/torch.h>

#include "model/text_encoder.hpp"

namespace cir::model {

struct LstmOptions {
  std::int64_t vocab_size = 0;
  std::int64_t embed = 512;
  std::int64_t hidden = 512;
  std::int64_t pad_id = 0;  // its embedding row is zero and gets no gradient
};

class LstmEncoderImpl : public TextEncoderImpl {
 public:
  explicit LstmEncoderImpl(const LstmOptions& options);
  // ids, mask: [B, L] int64, each text's tokens first and its padding after
  // (mask 1…1 0…0, as the loader pads); returns [B, hidden].
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask) override;
  std::int64_t dim() const override { return options_.hidden; }

 private:
  LstmOptions options_;
  torch::nn::Embedding embedding_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
};
TORCH_MODULE(LstmEncoder);

}  // namespace cir::model
