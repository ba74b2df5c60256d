#include "model/text/word_vocabulary.hpp"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "common/error.hpp"
#include "common/keys.hpp"

namespace cir::model {

std::vector<std::string> WordVocabulary::split(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  const auto* s = reinterpret_cast<const std::uint8_t*>(text.data());
  const auto length = static_cast<std::int32_t>(text.size());
  std::int32_t i = 0;
  while (i < length) {
    UChar32 c = 0;
    U8_NEXT(s, i, length, c);
    if (c < 0) continue;  // invalid UTF-8 byte: dropped
    if (u_isUWhiteSpace(c)) {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
      continue;
    }
    if (c < 128 && std::ispunct(c)) continue;  // Python's string.punctuation, in the C locale
    c = u_tolower(c);
    char buffer[4];
    std::int32_t n = 0;
    U8_APPEND_UNSAFE(buffer, n, c);
    word.append(buffer, static_cast<std::size_t>(n));
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

WordVocabulary::WordVocabulary(const std::vector<std::string>& captions, std::int64_t min_count) {
  if (min_count < 1) {
    throw Error("must be at least 1, got " + std::to_string(min_count),
                Where{.key = keys::model::lstm::min_count.name});
  }
  std::map<std::string, std::int64_t> counts;
  for (const auto& caption : captions) {
    for (auto& word : split(caption)) ++counts[std::move(word)];
  }
  std::vector<std::pair<std::string, std::int64_t>> kept;
  for (auto& [word, count] : counts) {
    if (count >= min_count) kept.emplace_back(word, count);
  }
  std::stable_sort(kept.begin(), kept.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  words_ = {"<pad>", "<unk>"};
  for (auto& [word, count] : kept) words_.push_back(word);
  for (std::size_t id = 2; id < words_.size(); ++id) ids_.emplace(words_[id], static_cast<std::int64_t>(id));
}

std::vector<std::int64_t> WordVocabulary::encode(std::string_view text, std::size_t max_length) const {
  std::vector<std::int64_t> out;
  for (const auto& word : split(text)) {
    const auto it = ids_.find(word);
    out.push_back(it == ids_.end() ? kUnk : it->second);
  }
  if (out.empty()) out.push_back(kUnk);
  if (max_length > 0 && out.size() > max_length) out.resize(max_length);
  return out;
}

}  // namespace cir::model
