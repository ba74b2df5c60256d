// The LSTM encoder's tokenizer: a word vocabulary built from the training
// captions. Words are split as the TIRG/CoSMo reference code splits them:
// lowercase (Unicode simple case mapping), ASCII punctuation deleted ("t-shirt"
// → "tshirt", "don't" → "dont"), then split at Unicode white space; unlike
// the reference, non-ASCII letters are kept rather than dropped.
// Ids: 0 = <pad>, 1 = <unk>, then the words seen at least min_count times,
// most frequent first, ties in byte order — a pure function of the caption
// multiset, so every rank and every resumed run gets the same ids.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/tokenizer.hpp"

namespace cir::model {

class WordVocabulary : public Tokenizer {
 public:
  static constexpr std::int64_t kPad = 0;
  static constexpr std::int64_t kUnk = 1;

  // Throws cir::Error if min_count < 1.
  WordVocabulary(const std::vector<std::string>& captions, std::int64_t min_count = 1);

  // One id per word (unknown words → <unk>), cut to max_length (0 = all).
  // A caption without words encodes to a single <unk>, so every caption has
  // at least one token for the encoder to read.
  std::vector<std::int64_t> encode(std::string_view text, std::size_t max_length = 0) const override;
  std::int64_t pad_id() const override { return kPad; }
  std::size_t vocab_size() const override { return words_.size(); }

  // The words of `text` as the vocabulary splits them.
  static std::vector<std::string> split(std::string_view text);
  // Words by id ("<pad>", "<unk>", …).
  const std::vector<std::string>& words() const { return words_; }

 private:
  std::vector<std::string> words_;
  std::unordered_map<std::string, std::int64_t> ids_;
};

}  // namespace cir::model
