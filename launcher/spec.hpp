// Sweep specs (sweeps/README.md): a TOML file,
// the presets it extends, its [grid] and [[grid.union]] blocks and the
// command line's --set overrides, loaded and checked against the schema.
//
//   [sweep]                    name, extends, seeds, ranks_per_trial, …
//   [loss] / [train] / …       training keys, overriding the presets'
//   [grid]                     axes crossed with each other and with every
//   "loss.gamma0" = [0.1, inf]   [[grid.union]] block (or alone, when there
//   [[grid.union]]               is none); each block is one cartesian product
//   "loss.w1" = [0.1, 0.2]
//
// Every error names the file, line, column and key, and suggests the known
// key nearest to a misspelt one.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace cir::launcher {

// A value with the place it came from (a spec line, "--set", or the schema's
// default when where.file is empty).
struct Setting {
  nlohmann::json value;  // checked and normalised by the schema; +inf as "inf"
  Where where;
};

// One swept key and its values, in file order.
struct Axis {
  std::string key;
  std::vector<Setting> values;
  Where where;
};

// One cartesian product: the common [grid] axes followed by a union block's.
using Product = std::vector<Axis>;

struct SweepSpec {
  std::filesystem::path file;                // the spec as given
  std::vector<std::filesystem::path> chain;  // the spec, then the presets it extends, nearest first
  std::string name;
  std::string description;
  std::vector<std::int64_t> seeds;  // distinct, in spec order
  int ranks_per_trial = 1;
  int max_requeues = 3;
  int max_retries = 0;                              // sweep.max_retries
  double stall_warning = 0.0, stall_timeout = 0.0;  // seconds (launcher/stall_inspector.hpp)
  std::filesystem::path store;                      // sweep.store, or results/<name>.h5
  // Where each [sweep] key was set (for messages about them).
  std::map<std::string, Where> sweep_where;
  // Every training key, resolved: schema default ← presets ← spec ← --set.
  std::map<std::string, Setting> settings;
  // The grid's products, in file order (one, possibly without axes, when the
  // spec has no [[grid.union]]). Keys pinned by --set are not axes.
  std::vector<Product> products;
};

// The most trials a sweep may have (seeds × grid points, counted before
// equal points collapse); a bigger grid is refused before it is expanded.
inline constexpr std::size_t kMaxTrials = 100'000;

// Loads `file`, the presets it extends, and the --set overrides
// ("key=value", the value in TOML syntax; a string value may be unquoted).
// Throws cir::Error (ExitCode::usage) for anything wrong.
SweepSpec load_spec(const std::filesystem::path& file, const std::vector<std::string>& sets = {});

// The same from TOML text (`name` stands for the file in messages; extends
// are resolved relative to `name`'s folder).
SweepSpec load_spec_text(std::string_view text, const std::filesystem::path& name,
                         const std::vector<std::string>& sets = {});

// The resolved spec as TOML: the sweep's name and seeds, every training key's
// resolved value and the grid. It defines the trials (ranks_per_trial,
// description and store are left out: changing them keeps a store's trials),
// so its digest is the store's spec digest.
std::string resolved_text(const SweepSpec& spec);

// Where the trials' checkpoints go: <store folder>/<store stem>/checkpoints
// (results/<name>/checkpoints by default).
std::filesystem::path checkpoint_root(const SweepSpec& spec);

}  // namespace cir::launcher
