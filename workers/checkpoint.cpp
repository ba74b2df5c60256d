#include "workers/checkpoint.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/fault.hpp"
#include "common/file_io.hpp"
#include "common/log.hpp"
#include "model/io/safetensors.hpp"

namespace cir::workers {
namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "ckpt-";
constexpr const char* kTmpPrefix = ".tmp-";
constexpr const char* kTrashPrefix = ".trash-";
constexpr const char* kTensorsFile = "tensors.safetensors";
constexpr int kFormat = 1;

// The sequence number of a checkpoint folder name, or -1 for other names.
long sequence_of(const std::string& name) {
  const std::string prefix = kPrefix;
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return -1;
  const std::string digits = name.substr(prefix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); })) return -1;
  return std::stol(digits);
}

std::vector<char> read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open the file", Where{.file = path.string()});
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error("cannot read the file", Where{.file = path.string()});
  return bytes;
}

// state.json of checkpoint folder `folder`, checked for its fields.
nlohmann::json read_meta(const fs::path& folder) {
  const fs::path file = folder / "state.json";
  const std::vector<char> bytes = read_all(file);
  nlohmann::json meta =
      nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (meta.is_discarded() || !meta.is_object() || !meta.contains("state") ||
      !meta.contains("tensors_sha256") || !meta["tensors_sha256"].is_string())
    throw Error("not a cir checkpoint state (unreadable JSON or missing fields)",
                Where{.file = file.string()});
  if (meta.value("format", 0) != kFormat)
    throw Error(fmt::format("checkpoint format {} is not the format {} this build reads",
                            meta.value("format", 0), kFormat),
                Where{.file = file.string()});
  return meta;
}

}  // namespace

CheckpointDir::CheckpointDir(fs::path path, int keep) : path_(std::move(path)), keep_(keep) {
  if (keep_ < 1)
    throw Error(fmt::format("a checkpoint folder must keep at least 1 checkpoint, got {}", keep_));
  std::error_code ec;
  fs::create_directories(path_, ec);
  if (ec) throw_sys_error(ec.value(), path_, "create the checkpoint folder");
  for (const auto& entry : fs::directory_iterator(path_)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kTmpPrefix, 0) == 0 || name.rfind(kTrashPrefix, 0) == 0) fs::remove_all(entry.path());
  }
}

std::vector<std::string> CheckpointDir::names() const {
  std::vector<std::pair<long, std::string>> found;
  for (const auto& entry : fs::directory_iterator(path_)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && sequence_of(name) >= 0) found.emplace_back(sequence_of(name), name);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [sequence, name] : found) out.push_back(std::move(name));
  return out;
}

std::string CheckpointDir::save(const nlohmann::json& state,
                                const std::map<std::string, torch::Tensor>& tensors) {
  const std::vector<std::string> existing = names();
  const long sequence = existing.empty() ? 1 : sequence_of(existing.back()) + 1;
  const std::string name = fmt::format("{}{:06}", kPrefix, sequence);
  const fs::path tmp = path_ / (kTmpPrefix + name);
  fs::remove_all(tmp);
  std::error_code ec;
  fs::create_directory(tmp, ec);
  if (ec) throw_sys_error(ec.value(), tmp, "create a checkpoint");

  model::NamedTensors named;
  for (const auto& [key, tensor] : tensors) named.emplace_back(key, tensor.detach());
  model::write_safetensors(tmp / kTensorsFile, named);  // written, fsynced, renamed
  fault_point("checkpoint.write");
  const std::vector<char> bytes = read_all(tmp / kTensorsFile);
  const nlohmann::json meta = {{"format", kFormat},
                               {"state", state},
                               {"tensors_sha256", sha256_hex(std::string_view(bytes.data(), bytes.size()))}};
  const std::string text = meta.dump(2) + "\n";
  write_file_synced(tmp / "state.json", {text});
  sync_folder(tmp);
  rename_durably(tmp, path_ / name);

  std::vector<std::string> all = names();
  for (std::size_t i = 0; i + static_cast<std::size_t>(keep_) < all.size(); ++i) {
    const fs::path trash = path_ / (kTrashPrefix + all[i]);
    fs::rename(path_ / all[i], trash, ec);
    if (!ec) fs::remove_all(trash, ec);
    if (ec) log::warn("cannot delete the old checkpoint {}: {}", (path_ / all[i]).string(), ec.message());
  }
  return name;
}

Checkpoint CheckpointDir::load(const std::string& name) const {
  const fs::path folder = path_ / name;
  if (sequence_of(name) < 0 || !fs::is_directory(folder))
    throw Error("no such checkpoint", Where{.file = folder.string()});
  nlohmann::json meta = read_meta(folder);
  const fs::path file = folder / kTensorsFile;
  const std::vector<char> bytes = read_all(file);
  if (sha256_hex(std::string_view(bytes.data(), bytes.size())) != meta["tensors_sha256"].get<std::string>())
    throw Error("the tensors do not match the digest recorded in state.json (truncated or damaged file)",
                Where{.file = file.string()});
  Checkpoint out{name, std::move(meta["state"]), {}};
  for (auto& [key, tensor] : model::SafetensorsFile(file).tensors())
    out.tensors.emplace(key, std::move(tensor));
  return out;
}

std::optional<Checkpoint> CheckpointDir::latest(
    const std::function<bool(const nlohmann::json&)>& accept) const {
  const std::vector<std::string> all = names();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    try {
      if (accept && !accept(read_meta(path_ / *it)["state"])) continue;
      return load(*it);
    } catch (const Error& e) {
      log::warn("skipping a damaged checkpoint: {}", e.what());
    }
  }
  return std::nullopt;
}

}  // namespace cir::workers
