#include "model/text/text_stack.hpp"

#include <filesystem>

#include "common/error.hpp"
#include "model/text/bpe_tokenizer.hpp"
#include "model/text/lstm_encoder.hpp"
#include "model/text/roberta.hpp"
#include "model/text/word_vocabulary.hpp"

namespace cir::model {

namespace {

// The RoBERTa folder's files, checked (check_text_weights).
std::filesystem::path roberta_folder(const cir::Params& params) {
  const std::string folder = params.get(keys::model::text::weights);
  const Where where = params.where(keys::model::text::weights);
  if (folder.empty()) {
    throw Error("RoBERTa needs pretrained weights, and none are given", where,
                "set model.text.weights to a folder with model.safetensors, vocab.json and merges.txt "
                "(Hugging Face's roberta-base), or train a text encoder from scratch with "
                "model.text.encoder = \"lstm\"");
  }
  const std::filesystem::path dir(folder);
  const std::string hint =
      "model.text.weights names the folder that holds model.safetensors, vocab.json and merges.txt";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw Error(std::filesystem::exists(dir, ec) ? "'" + folder + "' is not a folder"
                                                 : "the RoBERTa folder " + folder + " does not exist",
                where, hint);
  }
  for (const char* name : {"model.safetensors", "vocab.json", "merges.txt"}) {
    if (!std::filesystem::exists(dir / name, ec))
      throw Error("the RoBERTa folder " + folder + " has no " + name, where, hint);
  }
  return dir;
}

TextStack roberta_stack(const cir::Params& params) {
  const std::filesystem::path dir = roberta_folder(params);
  const Where where = params.where(keys::model::text::weights);
  const auto config = std::filesystem::exists(dir / "config.json") ? read_roberta_config(dir / "config.json")
                                                                   : RobertaConfig{};
  auto tokenizer = std::make_shared<BpeTokenizer>(dir / "vocab.json", dir / "merges.txt");
  if (tokenizer->vocab_size() > static_cast<std::size_t>(config.vocab_size)) {
    throw Error("vocab.json has ids up to " + std::to_string(tokenizer->vocab_size() - 1) +
                    " but the model only " + std::to_string(config.vocab_size) + " embeddings",
                Where{.file = (dir / "vocab.json").string(), .key = where.key, .trial = where.trial},
                "vocab.json, config.json and model.safetensors must come from the same model");
  }
  if (tokenizer->pad_id() != config.pad_id) {
    throw Error("vocab.json's <pad> is id " + std::to_string(tokenizer->pad_id()) +
                    " but the model's pad_token_id is " + std::to_string(config.pad_id),
                Where{.file = (dir / "vocab.json").string(), .key = where.key, .trial = where.trial});
  }
  const auto max_length = params.get(keys::model::text::max_length);
  const auto positions = config.max_positions - config.pad_id - 1;
  if (max_length < 2 || max_length > positions) {
    throw Error("must be between 2 and " + std::to_string(positions) + " (RoBERTa's positions), got " +
                    std::to_string(max_length),
                params.where(keys::model::text::max_length));
  }
  auto encoder = std::make_shared<RobertaEncoderImpl>(config);
  try {
    load_roberta_weights(*encoder, dir / "model.safetensors");
  } catch (const Error& e) {
    throw e.within(where);
  }
  return {tokenizer, encoder, true};
}

TextStack lstm_stack(const cir::Params& params, const std::vector<std::string>& training_captions) {
  auto vocabulary =
      std::make_shared<WordVocabulary>(training_captions, params.get(keys::model::lstm::min_count));
  LstmOptions options;
  options.vocab_size = static_cast<std::int64_t>(vocabulary->vocab_size());
  options.embed = params.get(keys::model::lstm::embed);
  options.hidden = params.get(keys::model::lstm::hidden);
  options.pad_id = vocabulary->pad_id();
  return {vocabulary, LstmEncoder(options).ptr(), false};
}

}  // namespace

void check_text_weights(const cir::Params& params) {
  if (params.get(keys::model::text::encoder) == "roberta") roberta_folder(params);
}

TextStack make_text_stack(const cir::Params& params, const std::vector<std::string>& training_captions) {
  // The contract's choices are "roberta" and "lstm".
  if (params.get(keys::model::text::encoder) == "roberta") return roberta_stack(params);
  return lstm_stack(params, training_captions);
}

}  // namespace cir::model
