// A trial's checkpoint folder: named tensors plus a JSON state, written so
// that a crash at any moment leaves the previous checkpoint readable.
//
// Layout: <path>/ckpt-000001/, ckpt-000002/, … numbered in the order they were
// written (the highest is the newest, whatever epoch it holds). Each holds
//   tensors.safetensors  the named tensors (model/io/safetensors.hpp; any
//                        safetensors reader opens it),
//   state.json           {"format": 1, "state": <the caller's JSON>,
//                        "tensors_sha256": <digest of tensors.safetensors>}.
// save() writes both into <path>/.tmp-ckpt-N/, fsyncs the files and the
// folder, renames it to ckpt-N and fsyncs <path>; only then does it delete
// the oldest checkpoints beyond `keep` (renamed to .trash-… first). Leftover
// .tmp-/.trash- folders of a killed writer are removed on construction. One
// writer per folder (the group leader).
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cir::workers {

struct Checkpoint {
  std::string name;                              // "ckpt-000012"
  nlohmann::json state;                          // what save() was given: {"epoch": …, "step": …, …}
  std::map<std::string, torch::Tensor> tensors;  // on the host
};

class CheckpointDir {
 public:
  // Creates `path` if needed; keeps the newest `keep` (≥ 1) checkpoints.
  CheckpointDir(std::filesystem::path path, int keep);

  // Writes a new checkpoint and returns its name. Tensors may live on any
  // device, in any dtype safetensors holds (floating, integer, bool). Throws
  // cir::Error naming the file when the disk refuses (ExitCode::io_fault,
  // with the free space, when it is full: common/file_io.hpp).
  std::string save(const nlohmann::json& state, const std::map<std::string, torch::Tensor>& tensors);

  // Complete checkpoints, oldest first (not verified).
  std::vector<std::string> names() const;

  // The newest checkpoint that reads back intact and whose state satisfies
  // `accept` (all when empty). A corrupt one is skipped with a warning and
  // the previous one is tried. nullopt when none qualifies.
  std::optional<Checkpoint> latest(const std::function<bool(const nlohmann::json& state)>& accept = {}) const;

  // One checkpoint by name; throws cir::Error when missing or corrupt.
  Checkpoint load(const std::string& name) const;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int keep_;
};

}  // namespace cir::workers
