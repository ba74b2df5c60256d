// The LSTM path (word vocabulary + LstmEncoder) and make_text_stack: the
// vocabulary is a pure function of the captions, padding never changes a
// caption's feature, and the text stack refuses what cannot work with an
// error that names the key or file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.hpp"
#include "common/params.hpp"
#include "model/io/state.hpp"
#include "model/text/bpe_tokenizer.hpp"
#include "model/text/lstm_encoder.hpp"
#include "model/text/roberta.hpp"
#include "model/text/text_stack.hpp"
#include "model/text/word_vocabulary.hpp"

namespace fs = std::filesystem;
using cir::model::WordVocabulary;

namespace {

const std::vector<std::string> kCaptions = {"Is red and has longer sleeves",
                                            "is RED, with a t-shirt collar!",
                                            "make it blue",
                                            "don't make it blue",
                                            "Rouge et très chic",
                                            "blue blue  blue\tsleeves"};

TEST(WordVocabulary, SplitsLikeTheReferenceAndKeepsUnicode) {
  EXPECT_EQ(WordVocabulary::split("Is RED, with a t-shirt!  don't\tTrès"),
            (std::vector<std::string>{"is", "red", "with", "a", "tshirt", "dont", "très"}));
  EXPECT_TRUE(WordVocabulary::split(" ... !").empty());
}

TEST(WordVocabulary, IdsArePureFunctionOfTheCaptionsAndFrequencyOrdered) {
  const WordVocabulary vocab(kCaptions);
  auto shuffled = kCaptions;
  std::reverse(shuffled.begin(), shuffled.end());
  EXPECT_EQ(WordVocabulary(shuffled).words(), vocab.words());
  EXPECT_EQ(WordVocabulary(kCaptions).words(), vocab.words());
  // <pad>, <unk>, then "blue" (5 times), "is"/"it"/"make"/"red"/"sleeves" (2 each, byte order), …
  ASSERT_GE(vocab.words().size(), 8U);
  EXPECT_EQ(vocab.words()[0], "<pad>");
  EXPECT_EQ(vocab.words()[1], "<unk>");
  EXPECT_EQ(vocab.words()[2], "blue");
  EXPECT_EQ(std::vector<std::string>(vocab.words().begin() + 3, vocab.words().begin() + 8),
            (std::vector<std::string>{"is", "it", "make", "red", "sleeves"}));
  EXPECT_EQ(vocab.pad_id(), 0);
  EXPECT_EQ(vocab.vocab_size(), vocab.words().size());

  const auto ids = vocab.encode("Make it BLUE, zebra");
  ASSERT_EQ(ids.size(), 4U);
  EXPECT_EQ(vocab.words()[static_cast<std::size_t>(ids[0])], "make");
  EXPECT_EQ(ids[2], 2);
  EXPECT_EQ(ids[3], WordVocabulary::kUnk);
  EXPECT_EQ(vocab.encode("make it blue", 2).size(), 2U);
  EXPECT_EQ(vocab.encode("?!"), (std::vector<std::int64_t>{WordVocabulary::kUnk}));
}

TEST(WordVocabulary, MinCountSendsRareWordsToUnk) {
  const WordVocabulary vocab(kCaptions, 2);
  EXPECT_EQ(vocab.words().size(), 2U + 6U);  // blue is it make red sleeves
  EXPECT_EQ(vocab.encode("chic blue"), (std::vector<std::int64_t>{WordVocabulary::kUnk, 2}));
  EXPECT_THROW(WordVocabulary(kCaptions, 0), cir::Error);
}

TEST(LstmEncoder, ShapesAndPaddingDoNotChangeAFeature) {
  torch::manual_seed(5);
  cir::model::LstmEncoder encoder(cir::model::LstmOptions{.vocab_size = 20, .embed = 8, .hidden = 6});
  EXPECT_EQ(encoder->dim(), 6);
  const auto ids = torch::tensor({{3, 4, 5, 0, 0}, {7, 0, 0, 0, 0}, {2, 3, 4, 5, 6}}, torch::kInt64);
  const auto mask = ids.ne(0).to(torch::kInt64);
  const auto features = encoder->forward(ids, mask);
  ASSERT_EQ(features.sizes(), (std::vector<std::int64_t>{3, 6}));
  for (std::int64_t b = 0; b < 3; ++b) {
    const auto n = mask[b].sum().item<std::int64_t>();
    const auto alone = ids[b].slice(0, 0, n).unsqueeze(0);
    const auto single = encoder->forward(alone, torch::ones_like(alone));
    EXPECT_TRUE(torch::allclose(single[0], features[b], 0, 1e-6)) << "caption " << b;
    // Garbage after the last token is ignored too, not only pads.
    auto noisy = ids[b].clone().unsqueeze(0);
    noisy.slice(1, n).fill_(9);
    EXPECT_TRUE(torch::allclose(encoder->forward(noisy, mask[b].unsqueeze(0))[0], features[b], 0, 1e-6));
  }
  // The feature is the state after the last word: it depends on every word.
  auto changed = ids.clone();
  changed[0][0] = 11;
  EXPECT_FALSE(torch::allclose(encoder->forward(changed, mask)[0], features[0]));
  // Gradients reach the embedding except its pad row.
  features.sum().backward();
  const auto& grad = encoder->named_parameters()["embedding.weight"].grad();
  EXPECT_EQ(grad[0].abs().sum().item<double>(), 0.0);
  EXPECT_GT(grad[3].abs().sum().item<double>(), 0.0);
}

std::string params_json(const std::string& encoder, const std::string& weights) {
  return nlohmann::json{{"model.text.encoder", encoder}, {"model.text.weights", weights},
                        {"model.text.max_length", 16},   {"model.lstm.embed", 8},
                        {"model.lstm.hidden", 12},       {"model.lstm.min_count", 1}}
      .dump();
}

std::string stack_error(const std::string& json) {
  try {
    cir::model::make_text_stack(cir::Params(json, "t1"), kCaptions);
  } catch (const cir::Error& e) {
    return e.what();
  }
  return {};
}

TEST(TextStack, LstmBuildsVocabularyFromTrainingCaptions) {
  const auto stack = cir::model::make_text_stack(cir::Params(params_json("lstm", "")), kCaptions);
  EXPECT_FALSE(stack.pretrained);
  EXPECT_EQ(stack.tokenizer->vocab_size(), WordVocabulary(kCaptions).vocab_size());
  EXPECT_EQ(stack.encoder->dim(), 12);
  const auto ids = torch::tensor(stack.tokenizer->encode("make it blue")).unsqueeze(0);
  EXPECT_EQ(stack.encoder->forward(ids, torch::ones_like(ids)).sizes(), (std::vector<std::int64_t>{1, 12}));
}

TEST(TextStack, RobertaWithoutWeightsIsRefusedWithAWayOut) {
  const auto error = stack_error(params_json("roberta", ""));
  EXPECT_NE(error.find("model.text.weights"), std::string::npos) << error;
  EXPECT_NE(error.find("lstm"), std::string::npos) << error;
  EXPECT_NE(stack_error(params_json("gru", "")).find("model.text.encoder"), std::string::npos);
}

// A tiny RoBERTa folder: config.json, random weights saved from a C++
// encoder, a byte-level vocabulary (the 256 byte symbols + specials).
class RobertaFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cir_text_stack_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    nlohmann::json vocab = {{"<s>", 0}, {"<pad>", 1}, {"</s>", 2}, {"<unk>", 3}};
    for (int b = 0; b < 256; ++b)
      vocab[cir::model::BpeTokenizer::byte_symbol(static_cast<std::uint8_t>(b))] = 4 + b;
    vocab["Ġb"] = 260;
    std::ofstream(dir_ / "vocab.json") << vocab.dump();
    std::ofstream(dir_ / "merges.txt") << "#version: 0.2\nĠ b\n";
    std::ofstream(dir_ / "config.json") << R"({"vocab_size": 261, "hidden_size": 16, "num_hidden_layers": 1,
      "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 20})";
    cir::model::RobertaEncoder source(cir::model::read_roberta_config(dir_ / "config.json"));
    cir::model::save_state(*source, dir_ / "model.safetensors");
    torch::NoGradGuard no_grad;
    source->eval();
    const auto ids = torch::tensor({0, 4 + 'a', 260, 2}).unsqueeze(0);
    expected_ = source->forward(ids, torch::ones_like(ids));
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  torch::Tensor expected_;
};

TEST_F(RobertaFolder, LoadsTokenizerConfigAndWeights) {
  const auto stack = cir::model::make_text_stack(cir::Params(params_json("roberta", dir_.string())), {});
  EXPECT_TRUE(stack.pretrained);
  EXPECT_EQ(stack.encoder->dim(), 16);
  const auto ids = stack.tokenizer->encode("a b");
  EXPECT_EQ(ids, (std::vector<std::int64_t>{0, 4 + 'a', 260, 2}));
  stack.encoder->eval();
  torch::NoGradGuard no_grad;
  const auto batch = torch::tensor(ids).unsqueeze(0);
  EXPECT_TRUE(torch::allclose(stack.encoder->forward(batch, torch::ones_like(batch)), expected_, 0, 1e-6));
}

TEST_F(RobertaFolder, RefusesIncompleteFoldersAndTooLongCaptions) {
  auto json = nlohmann::json::parse(params_json("roberta", dir_.string()));
  json["model.text.max_length"] = 64;
  EXPECT_NE(stack_error(json.dump()).find("model.text.max_length"), std::string::npos);

  fs::remove(dir_ / "merges.txt");
  const auto error = stack_error(params_json("roberta", dir_.string()));
  EXPECT_NE(error.find("merges.txt"), std::string::npos) << error;
  EXPECT_NE(error.find("trial t1"), std::string::npos) << error;

  std::ofstream(dir_ / "merges.txt") << "Ġ b\n";
  std::ofstream(dir_ / "config.json") << R"({"vocab_size": 261, "hidden_size": 8, "num_hidden_layers": 1,
      "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 20})";
  const auto mismatch = stack_error(params_json("roberta", dir_.string()));
  EXPECT_NE(mismatch.find("model.safetensors"), std::string::npos) << mismatch;
  EXPECT_NE(mismatch.find("embeddings.word_embeddings.weight: file [261, 16] vs model [261, 8]"),
            std::string::npos)
      << mismatch;
}

}  // namespace
