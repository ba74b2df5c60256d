// RoBERTa against an independent reference: a test-time Python script builds
// the same architecture from torch.nn modules (Embedding, LayerNorm and
// TransformerEncoderLayer, post-norm, exact GELU), gives it random weights,
// saves them under Hugging Face's names (with the "roberta." prefix and a
// pooler, as HF checkpoints have) plus its outputs on a padded batch; the C++
// encoder loads the file strictly and must agree within 1e-4.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.hpp"
#include "model/io/safetensors.hpp"
#include "model/text/roberta.hpp"

namespace fs = std::filesystem;

namespace {

const char* kReference = R"PY(
import json, struct, sys, torch, torch.nn as nn

out = sys.argv[1]
cfg = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
           max_position_embeddings=40, type_vocab_size=1, pad_token_id=1, layer_norm_eps=1e-5,
           hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
json.dump(cfg, open(out + "/config.json", "w"))
torch.manual_seed(7)
H, pad = cfg["hidden_size"], cfg["pad_token_id"]

class Reference(nn.Module):
    def __init__(self):
        super().__init__()
        self.word = nn.Embedding(cfg["vocab_size"], H, padding_idx=pad)
        self.pos = nn.Embedding(cfg["max_position_embeddings"], H, padding_idx=pad)
        self.token_type = nn.Embedding(1, H)
        self.norm = nn.LayerNorm(H, eps=1e-5)
        layer = nn.TransformerEncoderLayer(H, cfg["num_attention_heads"], cfg["intermediate_size"], dropout=0.0,
                                           activation="gelu", layer_norm_eps=1e-5, batch_first=True)
        self.layers = nn.TransformerEncoder(layer, cfg["num_hidden_layers"], enable_nested_tensor=False)
        for p in self.parameters():  # every weight random, LayerNorms and biases too
            nn.init.normal_(p, 0.0 if p.dim() > 1 else 0.5, 0.3 if p.dim() > 1 else 0.2)

    def forward(self, ids, mask):
        keep = ids.ne(pad).long()
        positions = torch.cumsum(keep, 1) * keep + pad
        x = self.norm(self.word(ids) + self.pos(positions) + self.token_type(torch.zeros_like(ids)))
        return self.layers(x, src_key_padding_mask=mask.eq(0))

model = Reference().eval()
lengths = [9, 3, 12, 1, 6]
L = max(lengths) + 2
ids = torch.full((len(lengths), L), pad, dtype=torch.long)
mask = torch.zeros_like(ids)
for b, n in enumerate(lengths):
    ids[b, 0], ids[b, n + 1] = 0, 2
    ids[b, 1:n + 1] = torch.randint(3, cfg["vocab_size"], (n,))
    mask[b, :n + 2] = 1
hidden = model(ids, mask).detach()  # grad enabled: the plain (not fused) path

state = {"roberta.embeddings.word_embeddings.weight": model.word.weight,
         "roberta.embeddings.position_embeddings.weight": model.pos.weight,
         "roberta.embeddings.token_type_embeddings.weight": model.token_type.weight,
         "roberta.embeddings.LayerNorm.weight": model.norm.weight,
         "roberta.embeddings.LayerNorm.bias": model.norm.bias,
         "roberta.embeddings.position_ids": torch.arange(cfg["max_position_embeddings"]).unsqueeze(0),
         "roberta.pooler.dense.weight": torch.zeros(H, H), "roberta.pooler.dense.bias": torch.zeros(H)}
for i, layer in enumerate(model.layers.layers):
    p = f"roberta.encoder.layer.{i}."
    for j, name in enumerate(["query", "key", "value"]):
        state[p + f"attention.self.{name}.weight"] = layer.self_attn.in_proj_weight[j * H:(j + 1) * H]
        state[p + f"attention.self.{name}.bias"] = layer.self_attn.in_proj_bias[j * H:(j + 1) * H]
    for ours, theirs in [("attention.output.dense", layer.self_attn.out_proj), ("attention.output.LayerNorm", layer.norm1),
                         ("intermediate.dense", layer.linear1), ("output.dense", layer.linear2),
                         ("output.LayerNorm", layer.norm2)]:
        state[p + ours + ".weight"], state[p + ours + ".bias"] = theirs.weight, theirs.bias

def save(path, tensors):
    names = {torch.float32: "F32", torch.int64: "I64"}
    header, blobs, off = {}, [], 0
    for k, t in tensors.items():
        raw = t.detach().contiguous().numpy().tobytes()
        header[k] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw); off += len(raw)
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h); f.write(b"".join(blobs))

save(out + "/model.safetensors", state)
save(out + "/io.safetensors", {"ids": ids, "mask": mask, "hidden": hidden})
)PY";

class RobertaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cir_roberta_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "reference.py") << kReference;
    const std::string command = "/usr/bin/python3 " + (dir_ / "reference.py").string() + " " + dir_.string();
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(RobertaTest, MatchesTorchNnReferenceWithTheSameWeights) {
  const auto config = cir::model::read_roberta_config(dir_ / "config.json");
  EXPECT_EQ(config.layers, 2);
  EXPECT_EQ(config.hidden, 32);
  cir::model::RobertaEncoder encoder(config);
  cir::model::load_roberta_weights(*encoder, dir_ / "model.safetensors");
  encoder->eval();
  const cir::model::SafetensorsFile io(dir_ / "io.safetensors");
  const auto ids = io.tensor("ids"), mask = io.tensor("mask"), expected = io.tensor("hidden");
  torch::NoGradGuard no_grad;
  const auto hidden = encoder->last_hidden_state(ids, mask);
  ASSERT_EQ(hidden.sizes(), expected.sizes());
  EXPECT_LT((hidden - expected).abs().max().item<double>(), 1e-4);  // pad positions included
  EXPECT_GT(expected.abs().mean().item<double>(), 0.1);             // not a trivially small output

  const auto feature = encoder->forward(ids, mask);
  EXPECT_EQ(feature.sizes(), (std::vector<std::int64_t>{ids.size(0), 32}));
  EXPECT_TRUE(torch::allclose(feature, expected.select(1, 0), 0, 1e-4));
  EXPECT_EQ(encoder->dim(), 32);

  // More padding changes nothing for the real tokens.
  const auto wider_ids = torch::cat({ids, torch::ones({ids.size(0), 5}, torch::kInt64)}, 1);
  const auto wider_mask = torch::cat({mask, torch::zeros({ids.size(0), 5}, torch::kInt64)}, 1);
  EXPECT_TRUE(torch::allclose(encoder->forward(wider_ids, wider_mask), feature, 0, 1e-5));
}

TEST_F(RobertaTest, WeightsOfAnotherSizeAreRefusedListingTheKeys) {
  auto config = cir::model::read_roberta_config(dir_ / "config.json");
  config.layers = 3;
  config.intermediate = 48;
  cir::model::RobertaEncoder encoder(config);
  try {
    cir::model::load_roberta_weights(*encoder, dir_ / "model.safetensors");
    FAIL() << "weights of another size were loaded";
  } catch (const cir::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("encoder.layer.2.output.LayerNorm.bias"), std::string::npos) << what;
    EXPECT_NE(what.find("encoder.layer.0.intermediate.dense.weight: file [64, 32] vs model [48, 32]"),
              std::string::npos)
        << what;
    EXPECT_EQ(what.find("pooler"), std::string::npos) << what;
  }
}

TEST(Roberta, ConfigErrorsNameFileAndKey) {
  const auto dir = fs::temp_directory_path() / ("cir_roberta_config_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "bad.json") << R"({"hidden_act": "relu"})";
  try {
    cir::model::read_roberta_config(dir / "bad.json");
    FAIL() << "a relu config was accepted";
  } catch (const cir::Error& e) {
    EXPECT_EQ(e.where().key, "hidden_act");
    EXPECT_EQ(e.where().file, (dir / "bad.json").string());
  }
  std::ofstream(dir / "bad.json") << R"({"hidden_size": 30, "num_attention_heads": 4})";
  EXPECT_THROW(cir::model::read_roberta_config(dir / "bad.json"), cir::Error);
  std::ofstream(dir / "bad.json") << R"({"num_hidden_layers": "two"})";
  EXPECT_THROW(cir::model::read_roberta_config(dir / "bad.json"), cir::Error);
  std::ofstream(dir / "bad.json") << R"({"layer_norm_eps": -1e999999})";
  try {
    cir::model::read_roberta_config(dir / "bad.json");
    FAIL() << "a number beyond a double was accepted";
  } catch (const cir::Error& e) {
    EXPECT_NE(std::string(e.what()).find("the number -1e999999 is beyond the range of a double"),
              std::string::npos)
        << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
