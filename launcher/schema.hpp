// The launcher's side of the sweep keys: the keys themselves, their types,
// defaults, ranges and checks are the trial contract (common/keys.hpp); the
// spec loader (launcher/spec.cpp) checks every value it reads against it.
// What only a spec needs lives here.
#pragma once

#include <string>
#include <string_view>

namespace cir::launcher {

// The closest known key to a misspelt one ("loss.gama0" → "loss.gamma0"),
// or "" when nothing is close.
std::string suggest_key(std::string_view unknown);

}  // namespace cir::launcher
