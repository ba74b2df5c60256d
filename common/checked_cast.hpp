// Narrowing a user's integer (a key's value, a count read from a file) to
// the type a consumer holds it in, refusing a value that does not fit
// instead of wrapping it: epochs = 2^32 + 2 must not train 2 epochs.
#pragma once

#include <fmt/format.h>

#include <concepts>
#include <limits>
#include <utility>

#include "common/error.hpp"

namespace cir {

template <std::integral To, std::integral From>
To checked_cast(From value, const Where& where) {
  if (!std::in_range<To>(value))
    throw Error(fmt::format("{} is out of the range this build can hold ({} to {})", value,
                            std::numeric_limits<To>::min(), std::numeric_limits<To>::max()),
                where, "sweeps/README.md gives every key's range");
  return static_cast<To>(value);
}

}  // namespace cir
