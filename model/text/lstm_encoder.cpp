#include "model/text/lstm_encoder.hpp"

#include "common/error.hpp"

namespace cir::model {

LstmEncoderImpl::LstmEncoderImpl(const LstmOptions& options) : options_(options) {
  if (options.vocab_size <= options.pad_id || options.embed < 1 || options.hidden < 1) {
    throw Error("LSTM encoder needs a vocabulary holding the pad id and positive widths (vocab " +
                std::to_string(options.vocab_size) + ", embed " + std::to_string(options.embed) +
                ", hidden " + std::to_string(options.hidden) + ")");
  }
  embedding_ = register_module(
      "embedding",
      torch::nn::Embedding(
          torch::nn::EmbeddingOptions(options.vocab_size, options.embed).padding_idx(options.pad_id)));
  lstm_ = register_module(
      "lstm", torch::nn::LSTM(torch::nn::LSTMOptions(options.embed, options.hidden).batch_first(true)));
}

torch::Tensor LstmEncoderImpl::forward(const torch::Tensor& ids, const torch::Tensor& mask) {
  TORCH_CHECK(ids.dim() == 2 && mask.sizes() == ids.sizes(),
              "LSTM encoder: ids and mask must both be [B, L], got ", ids.sizes(), " and ", mask.sizes());
  const auto outputs = std::get<0>(lstm_(embedding_(ids)));  // [B, L, H]
  const auto lengths = mask.sum(1);
  const auto last = (lengths - 1).clamp_min(0).view({-1, 1, 1}).expand({ids.size(0), 1, options_.hidden});
  return outputs.gather(1, last).squeeze(1) * lengths.gt(0).to(outputs.dtype()).unsqueeze(1);
}

}  // namespace cir::model
