// A run's receipt: the digests of weight files and dataset folders, and the
// object the store keeps.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/digest.hpp"
#include "launcher/receipt.hpp"

namespace cir::launcher {
namespace {

namespace fs = std::filesystem;

class Receipt : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cir-receipt-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "weights" / "roberta");
    fs::create_directories(dir_ / "data" / "images");
    std::ofstream(dir_ / "weights" / "resnet.safetensors") << "resnet bytes";
    std::ofstream(dir_ / "weights" / "roberta" / "a.bin") << "a";
    std::ofstream(dir_ / "weights" / "roberta" / "b.json") << "{}";
    std::ofstream(dir_ / "data" / "captions.json") << "[]";
    std::ofstream(dir_ / "data" / "images" / "1.jpg") << "jpeg";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(Receipt, DigestsOfFilesFoldersAndDatasets) {
  EXPECT_EQ(content_digest(dir_ / "weights" / "resnet.safetensors"), sha256_hex("resnet bytes"));
  EXPECT_EQ(content_digest(dir_ / "weights" / "roberta"),
            sha256_hex("a.bin\t" + sha256_hex("a") + "\nb.json\t" + sha256_hex("{}") + "\n"));
  const fs::path data = dir_ / "data";
  EXPECT_EQ(manifest_digest(data), sha256_hex("captions.json\t2\nimages/1.jpg\t4\n"));
  const std::string before = manifest_digest(data);
  std::ofstream(data / "images" / "2.jpg") << "more";
  EXPECT_NE(manifest_digest(data), before) << "an added image changes the manifest";
}

TEST_F(Receipt, NamesTheWeightsAndDataOfTheTrials) {
  TrialSpec t;
  t.params_json = nlohmann::json{{"model.image.weights", (dir_ / "weights" / "resnet.safetensors").string()},
                                 {"model.text.weights", (dir_ / "weights" / "missing").string()},
                                 {"data.root", (dir_ / "data").string()}}
                      .dump();
  const auto r = nlohmann::json::parse(run_receipt({t, t}, 3, "Open MPI v4.1.4", 17.5));
  EXPECT_EQ(r["ranks"], 3);
  EXPECT_EQ(r["mpi"], "Open MPI v4.1.4");
  EXPECT_EQ(r["started"], 17.5);
  ASSERT_EQ(r["weights"].size(), 1u) << r;  // the missing folder is left out
  EXPECT_EQ(r["weights"][(dir_ / "weights" / "resnet.safetensors").string()], sha256_hex("resnet bytes"));
  EXPECT_EQ(r["datasets"][(dir_ / "data").string()], manifest_digest(dir_ / "data"));
  EXPECT_EQ(r["cir_commit"], kCirCommit);
  EXPECT_TRUE(r.contains("libtorch") && r.contains("cuda") && r.contains("cir_version"));
}

}  // namespace
}  // namespace cir::launcher
