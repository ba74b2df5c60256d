#include "model/text/roberta.hpp"

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.hpp"
#include "common/keys.hpp"
#include "common/text.hpp"
#include "model/io/state.hpp"

namespace cir::model {

namespace {

torch::nn::LayerNorm layer_norm(const RobertaConfig& c) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden}).eps(c.layer_norm_eps));
}

}  // namespace

struct RobertaEmbeddingsImpl : torch::nn::Module {
  explicit RobertaEmbeddingsImpl(const RobertaConfig& c)
      : pad_id(c.pad_id),
        word_embeddings(register_module(
            "word_embeddings",
            torch::nn::Embedding(torch::nn::EmbeddingOptions(c.vocab_size, c.hidden).padding_idx(c.pad_id)))),
        position_embeddings(register_module(
            "position_embeddings",
            torch::nn::Embedding(
                torch::nn::EmbeddingOptions(c.max_positions, c.hidden).padding_idx(c.pad_id)))),
        token_type_embeddings(
            register_module("token_type_embeddings", torch::nn::Embedding(c.type_vocab_size, c.hidden))),
        norm(register_module("LayerNorm", layer_norm(c))),
        dropout(register_module("dropout", torch::nn::Dropout(c.hidden_dropout))) {}

  torch::Tensor forward(const torch::Tensor& ids) {
    const auto not_pad = ids.ne(pad_id).to(torch::kInt64);
    const auto positions = torch::cumsum(not_pad, 1) * not_pad + pad_id;
    auto x = word_embeddings(ids) + position_embeddings(positions) + token_type_embeddings->weight[0];
    return dropout(norm(x));
  }

  std::int64_t pad_id;
  torch::nn::Embedding word_embeddings, position_embeddings, token_type_embeddings;
  torch::nn::LayerNorm norm;
  torch::nn::Dropout dropout;
};

namespace {

struct SelfAttentionImpl : torch::nn::Module {
  explicit SelfAttentionImpl(const RobertaConfig& c)
      : heads(c.heads),
        query(register_module("query", torch::nn::Linear(c.hidden, c.hidden))),
        key(register_module("key", torch::nn::Linear(c.hidden, c.hidden))),
        value(register_module("value", torch::nn::Linear(c.hidden, c.hidden))),
        dropout(register_module("dropout", torch::nn::Dropout(c.attention_dropout))) {}

  // x: [B, L, H]; additive: [B, 1, 1, L] (0 or the most negative float).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& additive) {
    const auto b = x.size(0), l = x.size(1), h = x.size(2), d = h / heads;
    const auto split = [&](const torch::Tensor& t) { return t.view({b, l, heads, d}).transpose(1, 2); };
    const auto q = split(query(x)), k = split(key(x)), v = split(value(x));
    auto scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(d)) + additive;
    const auto probs = dropout(torch::softmax(scores, -1));
    return torch::matmul(probs, v).transpose(1, 2).reshape({b, l, h});
  }

  std::int64_t heads;
  torch::nn::Linear query, key, value;
  torch::nn::Dropout dropout;
};
TORCH_MODULE(SelfAttention);

// dense → dropout → LayerNorm(· + residual): HF's RobertaSelfOutput and RobertaOutput.
struct ResidualOutputImpl : torch::nn::Module {
  ResidualOutputImpl(const RobertaConfig& c, std::int64_t in)
      : dense(register_module("dense", torch::nn::Linear(in, c.hidden))),
        norm(register_module("LayerNorm", layer_norm(c))),
        dropout(register_module("dropout", torch::nn::Dropout(c.hidden_dropout))) {}

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual) {
    return norm(dropout(dense(x)) + residual);
  }

  torch::nn::Linear dense;
  torch::nn::LayerNorm norm;
  torch::nn::Dropout dropout;
};
TORCH_MODULE(ResidualOutput);

struct AttentionImpl : torch::nn::Module {
  explicit AttentionImpl(const RobertaConfig& c)
      : self(register_module("self", SelfAttention(c))),
        output(register_module("output", ResidualOutput(c, c.hidden))) {}
  SelfAttention self;
  ResidualOutput output;
};
TORCH_MODULE(Attention);

struct IntermediateImpl : torch::nn::Module {
  explicit IntermediateImpl(const RobertaConfig& c)
      : dense(register_module("dense", torch::nn::Linear(c.hidden, c.intermediate))) {}
  torch::nn::Linear dense;
};
TORCH_MODULE(Intermediate);

}  // namespace

struct RobertaLayerImpl : torch::nn::Module {
  explicit RobertaLayerImpl(const RobertaConfig& c)
      : attention(register_module("attention", Attention(c))),
        intermediate(register_module("intermediate", Intermediate(c))),
        output(register_module("output", ResidualOutput(c, c.intermediate))) {}

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& additive) {
    const auto a = attention->output(attention->self(x, additive), x);
    return output(torch::gelu(intermediate->dense(a)), a);
  }

  Attention attention;
  Intermediate intermediate;
  ResidualOutput output;
};

RobertaEncoderImpl::RobertaEncoderImpl(RobertaConfig config) : config_(config) {
  if (config_.hidden % config_.heads != 0) {
    throw Error("RoBERTa hidden width " + std::to_string(config_.hidden) + " is not a multiple of its " +
                std::to_string(config_.heads) + " heads");
  }
  embeddings_ = register_module("embeddings", std::make_shared<RobertaEmbeddingsImpl>(config_));
  auto encoder = register_module("encoder", std::make_shared<torch::nn::Module>());
  layers_ = encoder->register_module("layer", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config_.layers; ++i)
    layers_->push_back(std::make_shared<RobertaLayerImpl>(config_));

  torch::NoGradGuard no_grad;
  for (auto& module : modules(false)) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      linear->weight.normal_(0.0, 0.02);
      linear->bias.zero_();
    } else if (auto* embedding = module->as<torch::nn::Embedding>()) {
      embedding->weight.normal_(0.0, 0.02);
      if (embedding->options.padding_idx()) embedding->weight[*embedding->options.padding_idx()].zero_();
    }
  }
}

torch::Tensor RobertaEncoderImpl::last_hidden_state(const torch::Tensor& ids, const torch::Tensor& mask) {
  TORCH_CHECK(ids.dim() == 2 && mask.sizes() == ids.sizes(),
              "RoBERTa: ids and mask must both be [B, L], got ", ids.sizes(), " and ", mask.sizes());
  if (ids.size(1) > config_.max_positions - config_.pad_id - 1) {
    throw Error("RoBERTa: " + std::to_string(ids.size(1)) + " tokens exceed the " +
                    std::to_string(config_.max_positions - config_.pad_id - 1) + " positions the model has",
                Where{.key = keys::model::text::max_length.name});
  }
  auto x = embeddings_->forward(ids);
  const auto additive = (1.0 - mask.to(x.dtype()).view({mask.size(0), 1, 1, mask.size(1)})) *
                        std::numeric_limits<float>::lowest();
  for (const auto& layer : *layers_) x = layer->as<RobertaLayerImpl>()->forward(x, additive);
  return x;
}

torch::Tensor RobertaEncoderImpl::forward(const torch::Tensor& ids, const torch::Tensor& mask) {
  return last_hidden_state(ids, mask).select(1, 0);
}

RobertaConfig read_roberta_config(const std::filesystem::path& config_json) {
  const Where where{.file = config_json.string()};
  std::ifstream in(config_json);
  if (!in) throw Error("cannot open the RoBERTa config", where);
  nlohmann::json json;
  try {
    std::ostringstream text;
    text << in.rdbuf();
    json = parse_json(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(std::string("config.json is not valid JSON: ") + e.what(), where);
  }
  if (!json.is_object()) throw Error("config.json is not a JSON object", where);
  RobertaConfig c;
  const auto integer = [&](const char* key, std::int64_t& out) {
    if (!json.contains(key)) return;
    if (!json[key].is_number_integer() || json[key].get<std::int64_t>() < 0) {
      throw Error("expected a non-negative integer, got " + json_brief(json[key]),
                  Where{.file = where.file, .key = key});
    }
    out = json[key].get<std::int64_t>();
  };
  const auto number = [&](const char* key, double& out) {
    if (!json.contains(key)) return;
    if (!json[key].is_number()) {
      throw Error("expected a number, got " + json_brief(json[key]), Where{.file = where.file, .key = key});
    }
    out = json[key].get<double>();
  };
  const auto text = [&](const char* key, const char* required) {
    if (json.contains(key) && json[key] != required) {
      throw Error(
          std::string("cir's RoBERTa supports only \"") + required + "\", got " + json_brief(json[key]),
          Where{.file = where.file, .key = key});
    }
  };
  integer("vocab_size", c.vocab_size);
  integer("hidden_size", c.hidden);
  integer("num_hidden_layers", c.layers);
  integer("num_attention_heads", c.heads);
  integer("intermediate_size", c.intermediate);
  integer("max_position_embeddings", c.max_positions);
  integer("type_vocab_size", c.type_vocab_size);
  integer("pad_token_id", c.pad_id);
  number("layer_norm_eps", c.layer_norm_eps);
  number("hidden_dropout_prob", c.hidden_dropout);
  number("attention_probs_dropout_prob", c.attention_dropout);
  text("hidden_act", "gelu");
  text("position_embedding_type", "absolute");
  if (c.heads == 0 || c.hidden % c.heads != 0) {
    throw Error("hidden_size " + std::to_string(c.hidden) + " is not a multiple of num_attention_heads " +
                    std::to_string(c.heads),
                where);
  }
  if (c.type_vocab_size == 0 || c.pad_id >= c.vocab_size || c.pad_id + 1 >= c.max_positions) {
    throw Error(
        "type_vocab_size must be positive and pad_token_id below vocab_size and max_position_embeddings - 1",
        where);
  }
  return c;
}

void load_roberta_weights(RobertaEncoderImpl& encoder, const std::filesystem::path& safetensors) {
  load_state_strict(encoder, safetensors,
                    LoadOptions{.strip_prefix = "roberta.",
                                .skip_prefixes = {"pooler.", "lm_head.", "embeddings.position_ids",
                                                  "embeddings.token_type_ids"}});
}

}  // namespace cir::model
