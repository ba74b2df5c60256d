#include "launcher/schema.hpp"

#include <algorithm>
#include <vector>

#include "common/keys.hpp"

namespace cir::launcher {

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string_view last_part(std::string_view key) {
  const auto dot = key.rfind('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

}  // namespace

std::string suggest_key(std::string_view unknown) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, unknown.size() / 4) + 1;
  for (const keys::Key* key : keys::all()) {
    const std::size_t d = edit_distance(unknown, key->name);
    if (d < best_distance) best_distance = d, best = key->name;
  }
  if (!best.empty()) return best;
  // The right name in the wrong table: "train.gamma0" → "loss.gamma0".
  std::vector<std::string> same_name;
  for (const keys::Key* key : keys::all())
    if (last_part(key->name) == last_part(unknown)) same_name.push_back(key->name);
  return same_name.size() == 1 ? same_name.front() : std::string{};
}

}  // namespace cir::launcher
