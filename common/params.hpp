// The resolved parameters of one trial (TrialSpec::params_json): a flat JSON
// object of dotted keys, read with types. model/, datasets/ and workers/ read
// their options through it; the launcher's schema guarantees that every key
// it knows is present with its default, so a missing key is a bug or a key
// that the schema does not know yet, and both are reported with the key.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cir {

class Params {
 public:
  // Parses `params_json`; throws cir::Error if it is not a JSON object.
  // `trial` names the trial in every error message.
  explicit Params(std::string_view params_json, std::string trial = {});
  Params(const Params&);
  Params& operator=(const Params&);
  ~Params();

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
