// The schema of every sweep-spec key (sweeps/README.md mirrors it): type,
// range or choices, default and meaning. The single source of truth for the
// keys that model/, datasets/ and workers/ read from a trial's parameters.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cir::launcher {

enum class KeyType { boolean, integer, number, string, integer_list };

// One key of the schema.
struct KeySpec {
  std::string key;  // dotted: "loss.gamma0"
  KeyType type = KeyType::number;
  // The default, as a JSON value of the key's type; null = none (the key is
  // required, or, for sweep.extends, optional without a value).
  nlohmann::json fallback;
  std::optional<double> min{}, max{};  // inclusive bounds (of each element for lists)
  bool min_exclusive = false;          // min is a strict bound (> instead of ≥)
  bool allow_inf = false;              // +inf is a valid number (loss.gamma0)
  std::vector<std::string> choices{};  // the allowed strings; empty = any
  bool required = false;
  std::string meaning{};
};

// Every key, sweep.* first, in the order of sweeps/README.md.
const std::vector<KeySpec>& schema();

// The key's spec, or nullptr for an unknown key.
const KeySpec* find_key(std::string_view key);

// Whether `key` is a training key (one that goes into a trial's parameters)
// rather than a [sweep] key.
bool is_training_key(std::string_view key);

// The closest known key to a misspelt one ("loss.gama0" → "loss.gamma0"),
// or "" when nothing is close.
std::string suggest_key(std::string_view unknown);

// What a key accepts, for messages: "an integer ≥ 1", "one of "cpu", "cuda"", ….
std::string describe(const KeySpec& spec);

// Checks `value` (already a JSON value converted from TOML; +inf as the
// string "inf") against the key's type and range. Returns the value
// normalised to the key's type (an integer for a number key becomes a
// float), or throws cir::Error with a message naming what is wrong (the
// caller adds the location).
nlohmann::json check_value(const KeySpec& spec, const nlohmann::json& value);

// The JSON of one trial's parameters: every training key with its default.
nlohmann::json training_defaults();

}  // namespace cir::launcher
