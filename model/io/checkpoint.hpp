// cir's own checkpoint format: one safetensors file whose tensors are the
// model's (or optimiser's) named state and whose "__metadata__" carries
// {"format": "cir-checkpoint", "version": "1", "meta": <JSON text>}, so any
// safetensors tool can read the tensors and cir can read back the JSON state
// (epoch, step, options) that goes with them. Written atomically.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "model/io/safetensors.hpp"

namespace cir::model {

struct Checkpoint {
  NamedTensors tensors;  // sorted by name
  nlohmann::json meta;
};

inline constexpr const char* kCheckpointFormat = "cir-checkpoint";
inline constexpr int kCheckpointVersion = 1;

// Writes `tensors` and `meta` (any JSON value) to `path` atomically.
void save_checkpoint(const std::filesystem::path& path, const NamedTensors& tensors,
                     const nlohmann::json& meta);

// Reads a file written by save_checkpoint; throws cir::Error naming the file
// if it is not a safetensors file, not a cir checkpoint, or of a newer version.
Checkpoint load_checkpoint(const std::filesystem::path& path);

}  // namespace cir::model
