// Shared by the model tests: a scratch folder, the outputs of a Python
// reference script from tests/model/reference/ (Debian's python3), and
// comparing tensors.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "common/digest.hpp"

namespace cir::model::test {

// The repository root: $CIR_SOURCE_DIR (ctest sets it), else found from
// this header's path.
inline std::filesystem::path source_dir() {
  if (const char* dir = std::getenv("CIR_SOURCE_DIR")) return dir;
  return std::filesystem::absolute(__FILE__).parent_path().parent_path().parent_path();
}

// A fresh folder under the system temp dir, removed by the destructor.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) {
    path_ = std::filesystem::temp_directory_path() /
            (name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  static int& counter() {
    static int value = 0;
    return value;
  }
  std::filesystem::path path_;
};

// The outputs of tests/model/reference/<script> (run with /usr/bin/python3
// on one thread as `script OUTDIR`): a folder under the temp dir named by the
// digest of the reference scripts, made once and shared by every test
// process (ctest runs each case on its own), written to a temporary name
// and renamed into place. Empty (and a test failure) if the script fails.
inline std::filesystem::path reference_outputs(const std::string& script) {
  const std::filesystem::path dir = source_dir() / "tests" / "model" / "reference";
  std::string sources;
  for (const auto& name : {script, std::string("safetensors_lite.py")}) {
    std::ifstream in(dir / name, std::ios::binary);
    sources += std::string(std::istreambuf_iterator<char>(in), {});
  }
  const std::filesystem::path root = std::filesystem::temp_directory_path() / "cir-model-reference";
  const std::filesystem::path out =
      root / (std::filesystem::path(script).stem().string() + "-" + cir::short_digest(sources));
  if (std::filesystem::exists(out)) return out;
  const std::filesystem::path partial = out.string() + ".partial-" + std::to_string(::getpid());
  std::filesystem::create_directories(partial);
  const std::string command =
      "OMP_NUM_THREADS=1 /usr/bin/python3 '" + (dir / script).string() + "' '" + partial.string() + "'";
  const int status = std::system(command.c_str());
  EXPECT_EQ(status, 0) << "reference script failed: " << command;
  std::error_code error;
  if (status == 0) std::filesystem::rename(partial, out, error);  // fails harmlessly if another process won
  std::filesystem::remove_all(partial, error);
  return status == 0 ? out : std::filesystem::path();
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return INFINITY;
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

}  // namespace cir::model::test
