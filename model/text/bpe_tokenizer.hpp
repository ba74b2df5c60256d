// RoBERTa's (= GPT-2's) byte-level BPE tokenizer over `vocab.json` (token →
// id) and `merges.txt` (one merge "a b" per line, by rank; a first line
// "#version: …" is skipped).
//
// Pre-tokenisation follows GPT-2's pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// implemented as a scanner over code points with ICU's character classes
// (\p{L} = general category L*, \p{N} = N*, \s = the Unicode White_Space
// property, as Hugging Face's tokenizers and Python's `regex` read it; the
// JavaScript \s differs only on U+0085 and U+FEFF). Bytes that are not valid
// UTF-8 are kept, one "other" character each, so no input is lost. Each
// pre-token's bytes map to GPT-2's printable byte alphabet and are merged by
// rank. Every merge's parts and result must be in the vocabulary (as Hugging
// Face's tokenizers require), so merging runs on ids.
//
// encode() wraps the ids in <s> … </s> (RoBERTa: 0 and 2; the ids are looked
// up by name in vocab.json, which must hold <s>, </s>, <pad> and <unk>) and
// cuts the text's ids so that the result has at most max_length ids, keeping
// </s>, as Hugging Face's truncation does. Thread-safe: the loader's worker
// threads share one tokenizer; pre-token results are cached.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/tokenizer.hpp"

namespace cir::model {

class BpeTokenizer : public Tokenizer {
 public:
  // Reads both files; throws cir::Error naming the file (and line) for
  // anything missing or malformed.
  BpeTokenizer(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt);
  ~BpeTokenizer() override;

  std::vector<std::int64_t> encode(std::string_view text, std::size_t max_length = 0) const override;
  std::int64_t pad_id() const override { return pad_id_; }
  // One more than the largest id in vocab.json.
  std::size_t vocab_size() const override { return id_to_token_.size(); }

  // The text's BPE token strings in the byte alphabet ("Ġred"), without
  // special tokens: what the ids stand for.
  std::vector<std::string> tokens(std::string_view text) const;
  // The text's ids without special tokens and without a cut.
  std::vector<std::int64_t> ids(std::string_view text) const;
  // GPT-2's pre-tokens of `text` (byte ranges of it, before the byte mapping).
  static std::vector<std::string_view> pre_tokenize(std::string_view text);
  // GPT-2's printable stand-in for a byte ("Ġ" for the space), UTF-8.
  static const std::string& byte_symbol(std::uint8_t byte);

  std::int64_t bos_id() const { return bos_id_; }
  std::int64_t eos_id() const { return eos_id_; }
  std::int64_t unk_id() const { return unk_id_; }
  const std::string& token(std::int64_t id) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> id_to_token_;
  std::int64_t bos_id_ = 0, eos_id_ = 2, pad_id_ = 1, unk_id_ = 3;
};

}  // namespace cir::model
