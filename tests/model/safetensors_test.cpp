// Safetensors reader/writer: round trips in every dtype,
// files written by an independent Python writer, and corrupt files refused
// with an error that names the file and the problem.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.hpp"
#include "model/io/safetensors.hpp"

namespace fs = std::filesystem;
using cir::model::NamedTensors;
using cir::model::SafetensorsFile;

namespace {

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cir_safetensors_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes a file from a raw header string and data bytes.
  fs::path raw_file(const std::string& name, const std::string& header, const std::string& data,
                    std::uint64_t claimed = 0) {
    const auto path = dir_ / name;
    std::ofstream out(path, std::ios::binary);
    const std::uint64_t size = claimed ? claimed : header.size();
    out.write(reinterpret_cast<const char*>(&size), 8);
    out << header << data;
    return path;
  }

  // The message of the cir::Error that opening `path` throws ("" if none).
  static std::string open_error(const fs::path& path) {
    try {
      SafetensorsFile file(path);
    } catch (const cir::Error& e) {
      EXPECT_EQ(e.where().file, path.string());
      return e.what();
    }
    return {};
  }

  fs::path dir_;
};

TEST_F(SafetensorsTest, RoundTripKeepsEveryDtypeShapeAndValue) {
  torch::manual_seed(1);
  const NamedTensors tensors = {
      {"f32", torch::randn({3, 4})},
      {"f64", torch::randn({2}, torch::kFloat64)},
      {"f16", torch::randn({5, 1}).to(torch::kFloat16)},
      {"bf16", torch::randn({7}).to(torch::kBFloat16)},
      {"i64", torch::arange(0, 9, torch::kInt64).reshape({3, 3})},
      {"i32", torch::tensor({-1, 2, 3}, torch::kInt32)},
      {"i16", torch::tensor({-7}, torch::kInt16)},
      {"i8", torch::tensor({-3, 4}, torch::kInt8)},
      {"u8", torch::tensor({250, 1, 2}, torch::kUInt8)},
      {"bool", torch::tensor({true, false, true})},
      {"scalar", torch::tensor(2.5)},
      {"empty", torch::zeros({0, 3})},
      {"strided", torch::randn({4, 6}).t()},
  };
  const auto path = dir_ / "all.safetensors";
  cir::model::write_safetensors(path, tensors, {{"note", "hello"}});
  const SafetensorsFile file(path);
  EXPECT_EQ(file.metadata().at("note"), "hello");
  ASSERT_EQ(file.entries().size(), tensors.size());
  for (const auto& [name, expected] : tensors) {
    ASSERT_TRUE(file.contains(name)) << name;
    const auto got = file.tensor(name);
    EXPECT_EQ(got.scalar_type(), expected.scalar_type()) << name;
    EXPECT_EQ(got.sizes(), expected.sizes()) << name;
    EXPECT_TRUE(torch::equal(got, expected)) << name;
  }
  // Every tensor starts aligned for its dtype (the writer orders by element size).
  const auto header_size = fs::file_size(path) - [&] {
    std::uint64_t data = 0;
    for (const auto& e : file.entries()) data += e.end - e.begin;
    return data;
  }();
  for (const auto& e : file.entries()) {
    EXPECT_EQ((header_size + e.begin) % c10::elementSize(e.scalar_type), 0U) << e.name;
  }
}

TEST_F(SafetensorsTest, RefusesUnknownNameAndUnsupportedWrites) {
  const auto path = dir_ / "one.safetensors";
  cir::model::write_safetensors(path, {{"a", torch::ones({2})}});
  const SafetensorsFile file(path);
  EXPECT_FALSE(file.contains("b"));
  EXPECT_THROW(file.tensor("b"), cir::Error);
  EXPECT_THROW(cir::model::write_safetensors(path, {{"a", torch::ones({1})}, {"a", torch::ones({1})}}),
               cir::Error);
  EXPECT_THROW(cir::model::write_safetensors(path, {{"c", torch::ones({1}, torch::kComplexFloat)}}),
               cir::Error);
  // The failed writes left the earlier file intact.
  EXPECT_TRUE(torch::equal(SafetensorsFile(path).tensor("a"), torch::ones({2})));
}

TEST_F(SafetensorsTest, ReadsFilesOfAnIndependentPythonWriter) {
  const auto path = dir_ / "py.safetensors";
  const auto script = dir_ / "write.py";
  std::ofstream(script) << R"PY(
import json, struct, sys, torch
t = {
  "w": torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.25,
  "h": (torch.arange(6, dtype=torch.float32) - 2.5).to(torch.float16),
  "b": (torch.arange(5, dtype=torch.float32) * 1.5).to(torch.bfloat16),
  "n": torch.arange(4, dtype=torch.int64) - 2,
}
names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
for k in sorted(t):
    raw = t[k].contiguous().view(torch.uint8).numpy().tobytes() if t[k].dtype != torch.bfloat16 \
        else t[k].view(torch.int16).numpy().tobytes()
    header[k] = {"dtype": names[t[k].dtype], "shape": list(t[k].shape), "data_offsets": [off, off + len(raw)]}
    blobs.append(raw); off += len(raw)
h = json.dumps(header).encode()
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h); f.write(b"".join(blobs))
)PY";
  const std::string command = "/usr/bin/python3 " + script.string() + " " + path.string();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const SafetensorsFile file(path);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_TRUE(torch::equal(file.tensor("w"), torch::arange(12, torch::kFloat32).reshape({3, 4}) * 0.25));
  EXPECT_TRUE(torch::equal(file.tensor("h"), (torch::arange(6, torch::kFloat32) - 2.5).to(torch::kFloat16)));
  EXPECT_TRUE(torch::equal(file.tensor("b"), (torch::arange(5, torch::kFloat32) * 1.5).to(torch::kBFloat16)));
  EXPECT_TRUE(torch::equal(file.tensor("n"), torch::arange(4, torch::kInt64) - 2));
}

TEST_F(SafetensorsTest, RefusesCorruptFilesNamingTheProblem) {
  const std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string eight(8, '\0');
  EXPECT_EQ(open_error(raw_file("good", ok, eight)), "");

  EXPECT_NE(open_error(dir_ / "absent").find("cannot open"), std::string::npos);
  {
    const auto path = dir_ / "short";
    std::ofstream(path) << "abc";
    EXPECT_NE(open_error(path).find("fewer than the 8-byte header length"), std::string::npos);
  }
  EXPECT_NE(open_error(raw_file("long_header", ok, eight, 1000)).find("runs past the end"),
            std::string::npos);
  EXPECT_NE(open_error(raw_file("huge_header", ok, eight, 1ULL << 40)).find("100 MB"), std::string::npos);
  EXPECT_NE(open_error(raw_file("not_json", "{\"a\": ", eight)).find("not valid JSON"), std::string::npos);
  EXPECT_NE(open_error(raw_file("array", "[1,2]", eight)).find("not an object"), std::string::npos);
  EXPECT_NE(open_error(raw_file("dtype", R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", eight))
                .find("unsupported dtype 'Q7'"),
            std::string::npos);
  EXPECT_NE(open_error(raw_file("no_shape", R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", eight))
                .find("tensor 'a': no 'shape'"),
            std::string::npos);
  EXPECT_NE(
      open_error(raw_file("neg_shape", R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight))
          .find("non-negative integers"),
      std::string::npos);
  EXPECT_NE(open_error(raw_file("size", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight))
                .find("hold 8 bytes but F32 [3] needs 12"),
            std::string::npos);
  EXPECT_NE(open_error(raw_file("past", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", eight))
                .find("run past the 8-byte data section"),
            std::string::npos);
  EXPECT_NE(
      open_error(raw_file("backwards", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", eight))
          .find("run backwards"),
      std::string::npos);
  EXPECT_NE(open_error(raw_file("overlap",
                                R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                eight))
                .find("overlaps another tensor"),
            std::string::npos);
  EXPECT_NE(open_error(raw_file("hole", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight))
                .find("(hole)"),
            std::string::npos);
  EXPECT_NE(
      open_error(raw_file("trailing", ok, eight + "xx")).find("cover 8 bytes of the 10-byte data section"),
      std::string::npos);
  EXPECT_NE(open_error(raw_file("meta", R"({"__metadata__":{"k":3}})", "")).find("'k' is not a string"),
            std::string::npos);
}

// nlohmann's out_of_range 406 for a number beyond a double escaped the
// reader's catch of parse_error and aborted the process.
TEST_F(SafetensorsTest, ANumberBeyondADoubleInTheHeaderIsACorruptFile) {
  const auto path = raw_file("overflow", R"({"a":{"dtype":"F32","shape":[1e999999],"data_offsets":[0,8]}})",
                             std::string(8, '\0'));
  try {
    SafetensorsFile file(path);
    FAIL() << "opened";
  } catch (const cir::Error& e) {
    EXPECT_EQ(e.code(), cir::ExitCode::usage);
    EXPECT_EQ(e.where().file, path.string());
    EXPECT_NE(std::string(e.what()).find(
                  "header is not valid JSON: [json.exception.parse_error.101] parse error "
                  "at line 1, column 37: the number 1e999999 is beyond the range of a double"),
              std::string::npos)
        << e.what();
  }
}

// A header value nested a million levels deep is named by its type:
// nlohmann's dump() of it, once in the message, overflowed the stack. Text
// that is not UTF-8 is a JSON error of its own.
TEST_F(SafetensorsTest, DeeplyNestedOrNonUtf8HeaderValuesAreRefused) {
  const std::string nested = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  EXPECT_NE(
      open_error(raw_file("nested", R"({"a":{"dtype":"F32","shape":)" + nested + R"(,"data_offsets":[0,8]}})",
                          std::string(8, '\0')))
          .find("tensor 'a': shape a nested array holds something other than non-negative integers"),
      std::string::npos);
  const std::string latin1 = open_error(raw_file("latin1",
                                                 R"({"a":{"dtype":"F32","shape":["caf)"
                                                 "\xE9"
                                                 R"("],"data_offsets":[0,8]}})",
                                                 std::string(8, '\0')));
  EXPECT_NE(latin1.find("header is not valid JSON"), std::string::npos) << latin1;
  EXPECT_NE(latin1.find("ill-formed UTF-8 byte"), std::string::npos) << latin1;
}

}  // namespace
