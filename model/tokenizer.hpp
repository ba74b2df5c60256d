// A tokenizer turns a caption into token ids for a text encoder. The
// byte-level BPE (RoBERTa) and the word vocabulary (LSTM) implement it;
// datasets/ tokenises through it. No LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cir::model {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // The ids of `text`, with the encoder's special tokens (RoBERTa: <s> … </s>)
  // and cut to at most max_length ids (0 = no limit).
  virtual std::vector<std::int64_t> encode(std::string_view text, std::size_t max_length = 0) const = 0;
  // The id that pads a batch to its longest text (RoBERTa: 1).
  virtual std::int64_t pad_id() const = 0;
  virtual std::size_t vocab_size() const = 0;
};

}  // namespace cir::model
