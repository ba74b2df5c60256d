// RoBERTa (Liu et al. 2019) as Hugging Face's RobertaModel computes it, with
// its parameter names, so HF weights load as they are:
//   embeddings.{word_embeddings,position_embeddings,token_type_embeddings,LayerNorm}
//   encoder.layer.N.attention.self.{query,key,value}
//   encoder.layer.N.attention.output.{dense,LayerNorm}
//   encoder.layer.N.intermediate.dense, encoder.layer.N.output.{dense,LayerNorm}
// Post-LayerNorm blocks (eps from the config, 1e-5 for roberta-base), exact
// (erf) GELU, dropout on embeddings, attention probabilities and block outputs
// (active in training mode only). Position ids count only non-pad tokens,
// starting at padding_idx + 1 (pads get padding_idx), as HF's
// create_position_ids_from_input_ids; token types are all 0.
// The text feature (forward) is the last hidden state at position 0 (<s>).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>

#include "model/text_encoder.hpp"

namespace cir::model {

struct RobertaConfig {
  std::int64_t vocab_size = 50265;
  std::int64_t hidden = 768;
  std::int64_t layers = 12;
  std::int64_t heads = 12;
  std::int64_t intermediate = 3072;
  std::int64_t max_positions = 514;
  std::int64_t type_vocab_size = 1;
  std::int64_t pad_id = 1;
  double layer_norm_eps = 1e-5;
  double hidden_dropout = 0.1;
  double attention_dropout = 0.1;
};

// Reads a Hugging Face config.json (vocab_size, hidden_size,
// num_hidden_layers, num_attention_heads, intermediate_size,
// max_position_embeddings, type_vocab_size, pad_token_id, layer_norm_eps,
// hidden_dropout_prob, attention_probs_dropout_prob; absent keys keep
// roberta-base's values). Throws cir::Error naming the file and key for a
// wrong type, an activation other than "gelu", a position embedding type
// other than "absolute", or a hidden width that the heads do not divide.
RobertaConfig read_roberta_config(const std::filesystem::path& config_json);

struct RobertaEmbeddingsImpl;
struct RobertaLayerImpl;

class RobertaEncoderImpl : public TextEncoderImpl {
 public:
  // Random weights initialised as HF does (normal(0, 0.02) for linears and
  // embeddings, the padding rows zero, LayerNorm 1 and 0).
  explicit RobertaEncoderImpl(RobertaConfig config = {});

  // ids, mask: [B, L] int64 (mask 1 = token). Returns [B, L, hidden].
  torch::Tensor last_hidden_state(const torch::Tensor& ids, const torch::Tensor& mask);
  // The last hidden state at position 0: [B, hidden].
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask) override;
  std::int64_t dim() const override { return config_.hidden; }
  const RobertaConfig& config() const { return config_; }

 private:
  RobertaConfig config_;
  std::shared_ptr<RobertaEmbeddingsImpl> embeddings_;
  torch::nn::ModuleList layers_{nullptr};
};
TORCH_MODULE(RobertaEncoder);

// Loads a Hugging Face RoBERTa safetensors file strictly: keys may carry
// the "roberta." prefix of RobertaForMaskedLM & co.; the pooler, the LM head
// and the position_ids/token_type_ids buffers are skipped; anything else
// missing, unexpected or of another shape is one cir::Error listing it all.
void load_roberta_weights(RobertaEncoderImpl& encoder, const std::filesystem::path& safetensors);

}  // namespace cir::model
