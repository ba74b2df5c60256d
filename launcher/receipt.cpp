#include "launcher/receipt.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/keys.hpp"

namespace cir::launcher {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// SHA-256 of a file, read in 1 MiB blocks (weight files are hundreds of MB).
std::string file_digest(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error("cannot read a weight file for the run's receipt", Where{.file = path.string()},
                "check model.image.weights / model.text.weights");
  }
  Sha256 digest;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    digest.update({buffer.data(), static_cast<std::size_t>(in.gcount())});
  }
  return digest.hex();
}

// The regular files under `root`, as sorted relative paths.
std::vector<fs::path> files_under(const fs::path& root) {
  std::vector<fs::path> files;
  for (const auto& entry :
       fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied)) {
    if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), root));
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

std::string content_digest(const fs::path& path) {
  if (!fs::is_directory(path)) return file_digest(path);
  std::string lines;
  for (const fs::path& f : files_under(path))
    lines += f.generic_string() + "\t" + file_digest(path / f) + "\n";
  return sha256_hex(lines);
}

std::string manifest_digest(const fs::path& root) {
  std::string lines;
  for (const fs::path& f : files_under(root))
    lines += fmt::format("{}\t{}\n", f.generic_string(), fs::file_size(root / f));
  return sha256_hex(lines);
}

std::string run_receipt(const std::vector<TrialSpec>& trials, int ranks, const std::string& mpi,
                        double started) {
  json weights = json::object(), datasets = json::object();
  for (const TrialSpec& t : trials) {
    const json params = json::parse(t.params_json, nullptr, false);
    if (!params.is_object()) continue;
    for (const char* key : {keys::model::image::weights.name, keys::model::text::weights.name}) {
      const auto it = params.find(key);
      if (it == params.end() || !it->is_string() || it->get<std::string>().empty()) continue;
      const std::string path = it->get<std::string>();
      if (!weights.contains(path) && fs::exists(path)) weights[path] = content_digest(path);
    }
    const auto root = params.find(keys::data::root.name);
    if (root != params.end() && root->is_string() && !root->get<std::string>().empty()) {
      const std::string path = root->get<std::string>();
      if (!datasets.contains(path) && fs::is_directory(path)) datasets[path] = manifest_digest(path);
    }
  }
  const char* job = std::getenv("SLURM_JOB_ID");
  json receipt = {{"started", started},       {"cir_version", CIR_VERSION},
                  {"cir_commit", kCirCommit}, {"libtorch", CIR_TORCH_VERSION},
                  {"cuda", CIR_CUDA_VERSION}, {"mpi", mpi},
                  {"ranks", ranks},           {"slurm_job_id", job != nullptr ? job : ""},
                  {"weights", weights},       {"datasets", datasets}};
  return receipt.dump();
}

}  // namespace cir::launcher
