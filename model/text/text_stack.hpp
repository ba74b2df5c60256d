// The text half of the model as a trial's parameters choose it: a tokenizer
// and the encoder that reads its ids (docs/paper-notes.md "Network").
//   model.text.encoder = "roberta": model.text.weights names a folder with
//     model.safetensors (HF RoBERTa names, loaded strictly), vocab.json and
//     merges.txt, and optionally config.json (HF keys; absent = roberta-base,
//     present = any size, e.g. the tiny ones tests and small presets use).
//     Random initialisation is refused: without pretrained weights RoBERTa is
//     not the paper's text encoder; use "lstm" for a from-scratch text model.
//     pretrained = true (its parameters get train.text_lr_factor).
//   model.text.encoder = "lstm": a WordVocabulary of the training captions
//     (model.lstm.min_count) and an LstmEncoder (model.lstm.embed,
//     model.lstm.hidden); pretrained = false.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/params.hpp"
#include "model/text_encoder.hpp"
#include "model/tokenizer.hpp"

namespace cir::model {

struct TextStack {
  std::shared_ptr<Tokenizer> tokenizer;
  std::shared_ptr<TextEncoderImpl> encoder;
  bool pretrained = false;
};

// Throws cir::Error naming the key (and file) for an unknown encoder, a
// missing or incomplete RoBERTa folder, weights that do not fit, or a
// model.text.max_length beyond RoBERTa's positions.
TextStack make_text_stack(const cir::Params& params, const std::vector<std::string>& training_captions);

// model.text.weights checked as far as its files go, the first thing
// make_text_stack does for RoBERTa and a sweep's pre-flight
// (common/preflight.hpp): set, a folder, holding model.safetensors,
// vocab.json and merges.txt. Throws cir::Error naming the key and the path.
// Nothing to check for the LSTM.
void check_text_weights(const cir::Params& params);

}  // namespace cir::model
