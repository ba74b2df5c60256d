#include "common/keys.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/error.hpp"
#include "common/text.hpp"

namespace cir::keys {

namespace {

using nlohmann::json;

#define CIR_KEY_ADDRESS(space, constant, definition) &space::constant,
constexpr const Key* kAll[] = {CIR_KEYS(CIR_KEY_ADDRESS)};
#undef CIR_KEY_ADDRESS

std::string found(const json& value) {
  if (value.is_boolean()) return fmt::format("the boolean {}", json_text(value));
  if (value.is_number_integer()) return fmt::format("the integer {}", json_text(value));
  if (value.is_number()) return fmt::format("the number {}", json_text(value));
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (s == "inf" || s == "-inf" || s == "nan") return s;
    return fmt::format("the string {}", json_text(value));
  }
  if (value.is_array()) return fmt::format("the list {}", json_text(value));
  if (value.is_object()) return "a table";
  return "nothing";
}

[[noreturn]] void wrong(const Key& key, const json& value) {
  throw Error(fmt::format("expected {}, found {}", describe(key), found(value)));
}

void check_range(const Key& key, double v, const json& shown) {
  const Range& r = key.range;
  const bool below = r.min && (r.min_exclusive ? v <= *r.min : v < *r.min);
  const bool above = r.max && v > *r.max;
  if (below || above) wrong(key, shown);
}

}  // namespace

std::span<const Key* const> all() { return kAll; }

const Key* find(std::string_view name) {
  for (const Key* key : kAll)
    if (name == key->name) return key;
  return nullptr;
}

std::string describe(const Key& key) {
  const Range& r = key.range;
  std::string range;
  if (r.min && r.max)
    range = fmt::format(" in {}{}, {}]", r.min_exclusive ? '(' : '[', *r.min, *r.max);
  else if (r.min)
    range = fmt::format(" {} {}", r.min_exclusive ? ">" : "≥", *r.min);
  switch (key.type) {
    case Type::boolean:
      return "true or false";
    case Type::integer:
      return "an integer" + range;
    case Type::number:
      return "a number" + range + (r.allow_inf ? " or inf" : "");
    case Type::string: {
      if (key.choices.size == 0) return "a string";
      std::vector<std::string> quoted;
      for (const char* c : key.choices.view()) quoted.push_back(fmt::format("\"{}\"", c));
      return fmt::format("one of {}", fmt::join(quoted, ", "));
    }
    case Type::integer_list:
      return (key.min_items > 0 ? "a non-empty list of integers" : "a list of integers") + range;
  }
  return "a value";
}

json check(const Key& key, const json& value) {
  switch (key.type) {
    case Type::boolean:
      if (!value.is_boolean()) wrong(key, value);
      return value;
    case Type::integer:
      if (!value.is_number_integer()) wrong(key, value);
      check_range(key, static_cast<double>(value.get<std::int64_t>()), value);
      return value;
    case Type::number:
      if (value.is_string() && value.get_ref<const std::string&>() == "inf" && key.range.allow_inf)
        return value;
      if (!value.is_number()) wrong(key, value);
      check_range(key, value.get<double>(), value);
      return json(value.get<double>());
    case Type::string: {
      if (!value.is_string()) wrong(key, value);
      const auto choices = key.choices.view();
      if (!choices.empty() && std::none_of(choices.begin(), choices.end(), [&](const char* c) {
            return value.get_ref<const std::string&>() == c;
          }))
        wrong(key, value);
      return value;
    }
    case Type::integer_list:
      if (!value.is_array() || value.size() < key.min_items) wrong(key, value);
      for (const auto& element : value) {
        if (!element.is_number_integer()) wrong(key, value);
        check_range(key, static_cast<double>(element.get<std::int64_t>()), value);
      }
      return value;
  }
  wrong(key, value);
}

json default_value(const Key& key) {
  switch (key.type) {
    case Type::boolean:
      return key.boolean_default;
    case Type::integer:
      return key.integer_default;
    case Type::number:
      return key.number_default;
    case Type::string:
      return key.string_default == nullptr ? json(nullptr) : json(key.string_default);
    case Type::integer_list: {
      json list = json::array();
      for (const std::int64_t v : key.integers_default.view()) list.push_back(v);
      return list;
    }
  }
  return nullptr;
}

}  // namespace cir::keys
