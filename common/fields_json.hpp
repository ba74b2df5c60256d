// The one JSON encoding of every record with a field table
// (common/fields.hpp): an object with one key per entry, named as the table
// names it, nested records and lists of them encoded the same way. Doubles
// round-trip exactly through the text. Reading throws
// nlohmann::json::exception for a missing key or a value of another type.
#pragma once

#include <nlohmann/json.hpp>

#include "common/fields.hpp"

template <cir::HasFields Record>
struct nlohmann::adl_serializer<Record> {
  static void to_json(nlohmann::json& j, const Record& record) {
    j = nlohmann::json::object();
    cir::for_each_field<Record>([&](const auto& field) { j[field.name] = record.*field.member; });
  }

  static void from_json(const nlohmann::json& j, Record& record) {
    cir::for_each_field<Record>([&](const auto& field) { j.at(field.name).get_to(record.*field.member); });
  }
};
