#include "common/params.hpp"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/text.hpp"

namespace cir {

struct Params::Impl {
  nlohmann::json object;
};

namespace {

[[noreturn]] void fail(const std::string& trial, std::string_view key, const std::string& what) {
  throw Error(what, Where{.key = std::string(key), .trial = trial},
              "sweeps/README.md lists every key with its type and default");
}

double as_number(const nlohmann::json& value, const std::string& trial, std::string_view key) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (text == "inf") return std::numeric_limits<double>::infinity();
    if (text == "-inf") return -std::numeric_limits<double>::infinity();
    if (text == "nan") return std::numeric_limits<double>::quiet_NaN();
  }
  fail(trial, key, "expected a number, found " + json_text(value));
}

std::int64_t as_integer(const nlohmann::json& value, const std::string& trial, std::string_view key) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::floor(d) == d && std::abs(d) < 9.0e15) return static_cast<std::int64_t>(d);
  }
  fail(trial, key, "expected an integer, found " + json_text(value));
}

}  // namespace

Params::Params(std::string_view params_json, std::string trial)
    : impl_(std::make_unique<Impl>()), trial_(std::move(trial)) {
  try {
    impl_->object = nlohmann::json::parse(params_json);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("trial parameters are not valid JSON: ") + e.what(), Where{.trial = trial_});
  }
  if (!impl_->object.is_object())
    throw Error("trial parameters must be a JSON object", Where{.trial = trial_});
}

Params::Params(const Params& other) : impl_(std::make_unique<Impl>(*other.impl_)), trial_(other.trial_) {}

Params& Params::operator=(const Params& other) {
  if (this != &other) *this = Params(other);
  return *this;
}

Params::Params(Params&&) noexcept = default;
Params& Params::operator=(Params&&) noexcept = default;
Params::~Params() = default;

bool Params::has(std::string_view key) const { return impl_->object.contains(key); }

namespace {
const nlohmann::json& lookup(const nlohmann::json& object, const std::string& trial, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end()) fail(trial, key, "missing parameter");
  return *it;
}
}  // namespace

double Params::number(std::string_view key) const {
  return as_number(lookup(impl_->object, trial_, key), trial_, key);
}

std::int64_t Params::integer(std::string_view key) const {
  return as_integer(lookup(impl_->object, trial_, key), trial_, key);
}

bool Params::boolean(std::string_view key) const {
  const auto& value = lookup(impl_->object, trial_, key);
  if (!value.is_boolean()) fail(trial_, key, "expected true or false, found " + json_text(value));
  return value.get<bool>();
}

std::string Params::string(std::string_view key) const {
  const auto& value = lookup(impl_->object, trial_, key);
  if (!value.is_string()) fail(trial_, key, "expected a string, found " + json_text(value));
  return value.get<std::string>();
}

std::vector<std::int64_t> Params::integers(std::string_view key) const {
  const auto& value = lookup(impl_->object, trial_, key);
  if (!value.is_array()) fail(trial_, key, "expected a list of integers, found " + json_text(value));
  std::vector<std::int64_t> out;
  for (const auto& item : value) out.push_back(as_integer(item, trial_, key));
  return out;
}

std::vector<double> Params::numbers(std::string_view key) const {
  const auto& value = lookup(impl_->object, trial_, key);
  if (!value.is_array()) fail(trial_, key, "expected a list of numbers, found " + json_text(value));
  std::vector<double> out;
  for (const auto& item : value) out.push_back(as_number(item, trial_, key));
  return out;
}

double Params::number(std::string_view key, double fallback) const {
  return has(key) ? number(key) : fallback;
}
std::int64_t Params::integer(std::string_view key, std::int64_t fallback) const {
  return has(key) ? integer(key) : fallback;
}
bool Params::boolean(std::string_view key, bool fallback) const { return has(key) ? boolean(key) : fallback; }
std::string Params::string(std::string_view key, std::string_view fallback) const {
  return has(key) ? string(key) : std::string(fallback);
}

namespace {
// The value of `key` (its default when absent), checked against the contract.
nlohmann::json checked(const nlohmann::json& object, const std::string& trial, const keys::Key& key) {
  try {
    const auto it = object.find(key.name);
    if (it == object.end()) {
      nlohmann::json fallback = keys::default_value(key);
      if (fallback.is_null()) fail(trial, key.name, "missing parameter");
      return fallback;
    }
    return keys::check(key, *it);
  } catch (const Error& e) {
    throw e.within(Where{.key = key.name, .trial = trial});
  }
}
}  // namespace

bool Params::get(const keys::BooleanKey& key) const {
  return checked(impl_->object, trial_, key).get<bool>();
}

std::int64_t Params::get(const keys::IntegerKey& key) const {
  return checked(impl_->object, trial_, key).get<std::int64_t>();
}

double Params::get(const keys::NumberKey& key) const {
  return as_number(checked(impl_->object, trial_, key), trial_, key.name);
}

std::string Params::get(const keys::StringKey& key) const {
  return checked(impl_->object, trial_, key).get<std::string>();
}

std::vector<std::int64_t> Params::get(const keys::IntegerListKey& key) const {
  return checked(impl_->object, trial_, key).get<std::vector<std::int64_t>>();
}

}  // namespace cir
