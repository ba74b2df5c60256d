#include "model/text/bpe_tokenizer.hpp"

#include <fmt/format.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <array>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <sstream>
#include <unordered_map>

#include "common/error.hpp"
#include "common/keys.hpp"
#include "common/text.hpp"

namespace cir::model {

namespace {

// GPT-2's map from bytes to printable code points: the printable Latin-1
// bytes stand for themselves, the others for 256, 257, … in byte order.
std::array<std::string, 256> byte_alphabet() {
  std::array<std::string, 256> out;
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    const UChar32 c = printable ? b : next++;
    char buffer[4];
    int length = 0;
    U8_APPEND_UNSAFE(buffer, length, c);
    out[static_cast<std::size_t>(b)] = std::string(buffer, static_cast<std::size_t>(length));
  }
  return out;
}

enum class CharClass { letter, number, space, other };

struct CodePoint {
  std::size_t begin, end;  // byte range
  CharClass kind;
  char ascii;  // the character when it is ASCII, else 0
};

std::vector<CodePoint> classify(std::string_view text) {
  std::vector<CodePoint> out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const std::uint8_t*>(text.data());
  const auto length = static_cast<std::int32_t>(text.size());
  std::int32_t i = 0;
  while (i < length) {
    const std::int32_t begin = i;
    UChar32 c = 0;
    U8_NEXT(s, i, length, c);
    CharClass kind = CharClass::other;
    if (c < 0) {
      i = begin + 1;  // an invalid byte: one "other" character of its own
    } else if (u_isUWhiteSpace(c)) {
      kind = CharClass::space;
    } else {
      const auto mask = U_MASK(u_charType(c));
      if (mask & U_GC_L_MASK) {
        kind = CharClass::letter;
      } else if (mask & U_GC_N_MASK) {
        kind = CharClass::number;
      }
    }
    out.push_back({static_cast<std::size_t>(begin), static_cast<std::size_t>(i), kind,
                   c >= 0 && c < 128 ? static_cast<char>(c) : '\0'});
  }
  return out;
}

std::uint64_t pair_key(std::int32_t a, std::int32_t b) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
}

struct Merge {
  std::int32_t rank;
  std::int32_t merged;
};

constexpr std::size_t kCacheLimit = 1 << 16;

}  // namespace

struct BpeTokenizer::Impl {
  std::unordered_map<std::string, std::int32_t> token_to_id;
  std::array<std::int32_t, 256> byte_id{};
  std::unordered_map<std::uint64_t, Merge> merges;
  mutable std::shared_mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<std::int32_t>> cache;

  std::vector<std::int32_t> merge(std::string_view piece) const {
    std::vector<std::int32_t> word;
    word.reserve(piece.size());
    for (const char byte : piece) word.push_back(byte_id[static_cast<std::uint8_t>(byte)]);
    while (word.size() > 1) {
      const Merge* best = nullptr;
      std::size_t best_at = 0;
      for (std::size_t i = 0; i + 1 < word.size(); ++i) {
        const auto it = merges.find(pair_key(word[i], word[i + 1]));
        if (it != merges.end() && (best == nullptr || it->second.rank < best->rank)) {
          best = &it->second;
          best_at = i;
        }
      }
      if (best == nullptr) break;
      const std::int32_t first = word[best_at], second = word[best_at + 1];
      std::size_t out = 0;
      for (std::size_t i = 0; i < word.size(); ++i) {
        if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
          word[out++] = best->merged;
          ++i;
        } else {
          word[out++] = word[i];
        }
      }
      word.resize(out);
    }
    return word;
  }

  std::vector<std::int32_t> cached_merge(std::string_view piece) const {
    const std::string key(piece);
    {
      std::shared_lock lock(cache_mutex);
      const auto it = cache.find(key);
      if (it != cache.end()) return it->second;
    }
    auto word = merge(piece);
    std::unique_lock lock(cache_mutex);
    if (cache.size() >= kCacheLimit) cache.clear();
    cache.emplace(key, word);
    return word;
  }
};

BpeTokenizer::BpeTokenizer(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt)
    : impl_(std::make_unique<Impl>()) {
  {
    const Where where{.file = vocab_json.string()};
    std::ifstream in(vocab_json);
    if (!in) throw Error("cannot open the BPE vocabulary", where, "RoBERTa's folder holds vocab.json");
    nlohmann::json vocab;
    try {
      std::ostringstream text;
      text << in.rdbuf();
      vocab = parse_json(text.str());
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(std::string("vocab.json is not valid JSON: ") + e.what(), where);
    }
    if (!vocab.is_object() || vocab.empty())
      throw Error("vocab.json is not a non-empty object of token → id", where);
    for (const auto& [token, id] : vocab.items()) {
      if (!id.is_number_unsigned() || id.get<std::uint64_t>() > 100'000'000) {
        throw Error("token '" + token + "' has id " + json_brief(id) + ", not a non-negative integer", where);
      }
      const auto n = id.get<std::size_t>();
      if (n >= id_to_token_.size()) id_to_token_.resize(n + 1);
      if (!id_to_token_[n].empty()) {
        throw Error(fmt::format("tokens '{}' and '{}' share id {}", id_to_token_[n], token, n), where);
      }
      id_to_token_[n] = token;
      impl_->token_to_id.emplace(token, static_cast<std::int32_t>(n));
    }
    const auto special = [&](const char* name) -> std::int64_t {
      const auto it = impl_->token_to_id.find(name);
      if (it == impl_->token_to_id.end()) {
        throw Error(std::string("vocab.json has no special token ") + name, where,
                    "RoBERTa's vocabulary holds <s>, <pad>, </s> and <unk>");
      }
      return it->second;
    };
    bos_id_ = special("<s>");
    pad_id_ = special("<pad>");
    eos_id_ = special("</s>");
    unk_id_ = special("<unk>");
    for (std::size_t b = 0; b < 256; ++b) {
      const auto& symbol = byte_symbol(static_cast<std::uint8_t>(b));
      const auto it = impl_->token_to_id.find(symbol);
      if (it == impl_->token_to_id.end()) {
        throw Error(fmt::format("vocab.json lacks the byte token '{}' (byte {})", symbol, b), where,
                    "a byte-level BPE vocabulary holds all 256 byte tokens");
      }
      impl_->byte_id[b] = it->second;
    }
  }
  {
    std::ifstream in(merges_txt);
    if (!in) {
      throw Error("cannot open the BPE merges", Where{.file = merges_txt.string()},
                  "RoBERTa's folder holds merges.txt");
    }
    std::string line;
    int number = 0;
    std::int32_t rank = 0;
    while (std::getline(in, line)) {
      ++number;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || (number == 1 && line.starts_with("#version"))) continue;
      const Where where{.file = merges_txt.string(), .line = number};
      const auto space = line.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
          line.find(' ', space + 1) != std::string::npos) {
        throw Error("a merge is two tokens separated by one space, not '" + line + "'", where);
      }
      const std::string first = line.substr(0, space), second = line.substr(space + 1);
      const auto id = [&](const std::string& token) {
        const auto it = impl_->token_to_id.find(token);
        if (it == impl_->token_to_id.end()) {
          throw Error("merge '" + line + "' needs token '" + token + "', which vocab.json lacks", where,
                      "vocab.json and merges.txt must come from the same tokenizer");
        }
        return it->second;
      };
      impl_->merges.emplace(pair_key(id(first), id(second)), Merge{rank++, id(first + second)});
    }
  }
}

BpeTokenizer::~BpeTokenizer() = default;

std::vector<std::string_view> BpeTokenizer::pre_tokenize(std::string_view text) {
  const auto chars = classify(text);
  std::vector<std::string_view> out;
  const std::size_t n = chars.size();
  const auto run = [&](std::size_t from, CharClass kind) {
    while (from < n && chars[from].kind == kind) ++from;
    return from;
  };
  std::size_t i = 0;
  while (i < n) {
    std::size_t end = i;
    const auto& c = chars[i];
    const bool space_then = c.ascii == ' ' && i + 1 < n;
    if (c.ascii == '\'' && i + 1 < n) {
      // 's 't 'm 'd (one letter) and 're 've 'll (two)
      const char a = chars[i + 1].ascii, b = i + 2 < n ? chars[i + 2].ascii : '\0';
      if (a == 's' || a == 't' || a == 'm' || a == 'd') {
        end = i + 2;
      } else if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
        end = i + 3;
      }
    }
    if (end == i) {
      const std::size_t start = space_then && chars[i + 1].kind != CharClass::space ? i + 1 : i;
      const CharClass kind = chars[start].kind;
      if (kind != CharClass::space) {
        end = run(start, kind);  // ` ?\p{L}+`, ` ?\p{N}+` or ` ?[^\s\p{L}\p{N}]+`
      } else {
        const std::size_t spaces = run(i, CharClass::space);
        // `\s+(?!\S)`: leave the last space to prefix what follows, unless
        // it is the only one (`\s+`) or the text ends.
        end = spaces == n || spaces - i == 1 ? spaces : spaces - 1;
      }
    }
    out.emplace_back(text.substr(chars[i].begin, chars[end - 1].end - chars[i].begin));
    i = end;
  }
  return out;
}

std::vector<std::int64_t> BpeTokenizer::ids(std::string_view text) const {
  std::vector<std::int64_t> out;
  for (const auto piece : pre_tokenize(text)) {
    for (const auto id : impl_->cached_merge(piece)) out.push_back(id);
  }
  return out;
}

std::vector<std::string> BpeTokenizer::tokens(std::string_view text) const {
  std::vector<std::string> out;
  for (const auto id : ids(text)) out.push_back(token(id));
  return out;
}

const std::string& BpeTokenizer::byte_symbol(std::uint8_t byte) {
  static const auto alphabet = byte_alphabet();
  return alphabet[byte];
}

const std::string& BpeTokenizer::token(std::int64_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= id_to_token_.size()) {
    throw Error(fmt::format("token id {} is outside the vocabulary of {}", id, id_to_token_.size()));
  }
  return id_to_token_[static_cast<std::size_t>(id)];
}

std::vector<std::int64_t> BpeTokenizer::encode(std::string_view text, std::size_t max_length) const {
  if (max_length == 1) {
    throw Error("max_length 1 cannot hold <s> and </s>", Where{.key = keys::model::text::max_length.name},
                "use 0 (no cut) or at least 2");
  }
  auto body = ids(text);
  if (max_length > 0 && body.size() > max_length - 2) body.resize(max_length - 2);
  std::vector<std::int64_t> out;
  out.reserve(body.size() + 2);
  out.push_back(bos_id_);
  out.insert(out.end(), body.begin(), body.end());
  out.push_back(eos_id_);
  return out;
}

}  // namespace cir::model
