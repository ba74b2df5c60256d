// Field tables: a record type lists each of its members once, with the name
// that every encoding gives it (the JSON of the launcher's messages and the
// workers' checkpoints, the columns of the store's /epochs), and the
// encodings iterate the table instead of spelling the members again. A
// record type R opts in with a function found by argument-dependent lookup,
//   constexpr auto fields(std::type_identity<R>) {
//     return std::tuple{Field{"name", &R::member}, …};
//   }
// and ties the table to the struct with
//   static_assert(lists_every_member<R>());
// so that a member added to R without an entry does not compile.
// common/fields_json.hpp turns every such record into JSON and back.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>

namespace cir {

// One entry of a field table: a member of Record and its name.
template <typename Record, typename T>
struct Field {
  using Type = T;
  const char* name;
  T Record::*member;
};

template <typename Record, typename T>
Field(const char*, T Record::*) -> Field<Record, T>;

template <typename Record>
concept HasFields = requires {
  fields(std::type_identity<Record>{});
};

template <HasFields Record>
constexpr auto fields_of() {
  return fields(std::type_identity<Record>{});
}

// Calls f(field) for each entry of Record's table, in table order.
template <HasFields Record, typename F>
constexpr void for_each_field(F&& f) {
  std::apply([&](const auto&... field) { (f(field), ...); }, fields_of<Record>());
}

namespace detail {

// Converts to anything; only ever named in unevaluated operands.
struct AnyMember {
  template <typename T>
  operator T() const;
};

// The number of members of the aggregate T: the most initializers T{…} takes.
template <typename T, typename... Initializers>
consteval std::size_t member_count(Initializers... initializers) {
  if constexpr (requires { T{initializers..., AnyMember{}}; }) {
    return member_count<T>(initializers..., AnyMember{});
  } else {
    return sizeof...(Initializers);
  }
}

}  // namespace detail

// True when Record's table has as many entries as Record has members.
template <HasFields Record>
consteval bool lists_every_member() {
  return detail::member_count<Record>() == std::tuple_size_v<decltype(fields_of<Record>())>;
}

}  // namespace cir
