// The resolved parameters of one trial (TrialSpec::params_json): a flat JSON
// object of dotted keys, read with types. model/, datasets/ and workers/ read
// their options through it by the contract's keys (common/keys.hpp). The
// launcher puts every training key in; a key read by name that is missing is
// a bug or a key the contract does not know, reported with the key.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/keys.hpp"

namespace cir {

class Params {
 public:
  // Parses `params_json`; throws cir::Error if it is not a JSON object.
  // `trial` names the trial in every error message.
  explicit Params(std::string_view params_json, std::string trial = {});
  Params(const Params&);
  Params& operator=(const Params&);
  Params(Params&&) noexcept;
  Params& operator=(Params&&) noexcept;
  ~Params();

  // Reads by the contract's key, checked against its type and range: a
  // value that breaks the contract throws cir::Error naming the key and the
  // trial, so a reader need not check it again. An absent key reads as the
  // contract's default, the value the launcher would have put in (for
  // parameters written before the key existed, and partial test fixtures).
  bool get(const keys::BooleanKey& key) const;
  std::int64_t get(const keys::IntegerKey& key) const;
  double get(const keys::NumberKey& key) const;  // "inf" reads as +infinity
  std::string get(const keys::StringKey& key) const;
  std::vector<std::int64_t> get(const keys::IntegerListKey& key) const;

  // Where an error about `key` in this trial happened.
  Where where(const keys::Key& key) const { return Where{.key = key.name, .trial = trial_}; }

  bool has(std::string_view key) const;
  // Typed reads; throw cir::Error naming the key for a missing key or a
  // value of another type. Numbers: "inf", "-inf", "nan" read as doubles.
  double number(std::string_view key) const;
  std::int64_t integer(std::string_view key) const;
  bool boolean(std::string_view key) const;
  std::string string(std::string_view key) const;
  std::vector<std::int64_t> integers(std::string_view key) const;
  std::vector<double> numbers(std::string_view key) const;

  // The same reads with a value for an absent key.
  double number(std::string_view key, double fallback) const;
  std::int64_t integer(std::string_view key, std::int64_t fallback) const;
  bool boolean(std::string_view key, bool fallback) const;
  std::string string(std::string_view key, std::string_view fallback) const;

  const std::string& trial() const { return trial_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string trial_;
};

}  // namespace cir
