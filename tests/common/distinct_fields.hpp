// Records for round-trip tests, filled through their field tables
// (common/fields.hpp): every field, nested ones too, gets a value that no
// other field has and that is not the member's default. An encoding that
// drops, swaps or defaults any field then gives back a record that compares
// unequal, and a field added to a record is filled as soon as it has its
// table entry (which common/fields.hpp's lists_every_member demands).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "common/fields.hpp"

namespace cir::testing {

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};

template <typename T>
T distinct_value(int& counter) {
  ++counter;
  if constexpr (HasFields<T>) {
    T record;
    for_each_field<T>([&](const auto& field) {
      record.*field.member = distinct_value<typename std::decay_t<decltype(field)>::Type>(counter);
    });
    return record;
  } else if constexpr (IsVector<T>::value) {
    return T{distinct_value<typename T::value_type>(counter),
             distinct_value<typename T::value_type>(counter)};
  } else if constexpr (std::is_same_v<T, std::string>) {
    return std::to_string(counter) + "v";  // short enough for the store's fixed-width strings
  } else if constexpr (std::is_enum_v<T>) {
    return static_cast<T>(1);  // the enumerations here default to their first value, 0
  } else {
    static_assert(std::is_arithmetic_v<T>, "teach distinct_value this type");
    return static_cast<T>(counter) + static_cast<T>(std::is_floating_point_v<T> ? 1.0 / 3.0 : 0);
  }
}

// A Record whose every field is distinct and not its default.
template <HasFields Record>
Record distinct_record(int first = 0) {
  return distinct_value<Record>(first);
}

// Each field matters to operator== and is filled: putting any one field of
// `record` back to its default makes the record compare unequal.
template <HasFields Record>
void expect_every_field_filled(const Record& record) {
  for_each_field<Record>([&](const auto& field) {
    Record changed = record;
    changed.*field.member = Record{}.*field.member;
    EXPECT_NE(changed, record) << field.name << " is not filled or not compared";
  });
}

}  // namespace cir::testing
