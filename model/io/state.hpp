// A module's state (named parameters and buffers) to and from safetensors,
// strictly: a load either fills every parameter and buffer of the module or
// changes nothing and throws one cir::Error that lists every missing key,
// every unexpected key and every shape or dtype mismatch together, so a
// wrong file is diagnosed in one run instead of one key at a time.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "model/io/safetensors.hpp"

namespace cir::model {

// How file keys map onto the module's keys.
struct LoadOptions {
  // Removed from the front of every file key that has it, so a file written
  // for a wrapper ("roberta.embeddings…") loads into the bare module.
  std::string strip_prefix{};
  // File keys (after stripping) starting with one of these are allowed to be
  // unexpected and are skipped (e.g. "pooler." or "lm_head." of a Hugging
  // Face checkpoint whose head the model does not use).
  std::vector<std::string> skip_prefixes{};
};

// The module's parameters then buffers, recursively, with their dotted names
// (torch's naming: "encoder.layer.0.attention.self.query.weight").
NamedTensors module_state(const torch::nn::Module& module);

// Copies `state` into `module`'s parameters and buffers (converting the
// dtype within floating point or within integers, and to the module's
// device). Every module key must be present with the same shape, and every
// state key must be a module key (or skipped by `options`); otherwise
// nothing is copied and a cir::Error naming `source` lists all problems.
void load_state_strict(torch::nn::Module& module, const NamedTensors& state, const std::string& source,
                       const LoadOptions& options = {});

// The same from a safetensors file.
void load_state_strict(torch::nn::Module& module, const SafetensorsFile& file,
                       const LoadOptions& options = {});
void load_state_strict(torch::nn::Module& module, const std::filesystem::path& file,
                       const LoadOptions& options = {});

// Writes module_state(module) to a safetensors file (atomically).
void save_state(const torch::nn::Module& module, const std::filesystem::path& file,
                const std::map<std::string, std::string>& metadata = {});

}  // namespace cir::model
