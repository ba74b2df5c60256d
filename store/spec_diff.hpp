// What differs between two resolved sweep specs (TOML text): the message a
// store gives when it refuses a spec it was not written for.
#pragma once

#include <string>
#include <vector>

namespace cir::store {

// One line per dotted key whose value differs, is only in the store's spec,
// or is only in the new one, in key order:
//   "train.epochs: store 30, spec 40"
//   "loss.gamma0: only in the spec"
// When either text is not TOML, one line naming the first line that differs.
std::vector<std::string> spec_differences(const std::string& store_text, const std::string& spec_text);

}  // namespace cir::store
