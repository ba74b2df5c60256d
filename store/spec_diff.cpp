#include "store/spec_diff.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <map>
#include <optional>
#include <sstream>

namespace cir::store {

namespace {

void flatten(const toml::table& table, const std::string& prefix, std::map<std::string, std::string>& out) {
  for (const auto& [key, node] : table) {
    // A key that holds a dot is quoted, as in the TOML text: grid."loss.gamma0".
    std::string part(key.str());
    if (part.find('.') != std::string::npos) part = "\"" + part + "\"";
    const std::string name = prefix.empty() ? part : prefix + "." + part;
    if (const toml::table* inner = node.as_table()) {
      flatten(*inner, name, out);
    } else {
      std::ostringstream text;
      node.visit([&](const auto& value) { text << value; });
      out[name] = text.str();
    }
  }
}

std::optional<std::map<std::string, std::string>> parse(const std::string& text) {
  try {
    const toml::table table = toml::parse(text);
    std::map<std::string, std::string> keys;
    flatten(table, "", keys);
    return keys;
  } catch (const toml::parse_error&) {
    return std::nullopt;
  }
}

std::vector<std::string> line_difference(const std::string& store_text, const std::string& spec_text) {
  std::istringstream a(store_text), b(spec_text);
  std::string line_a, line_b;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(a, line_a));
    const bool more_b = static_cast<bool>(std::getline(b, line_b));
    if (!more_a && !more_b) return {};
    if (!more_a || !more_b || line_a != line_b) {
      return {fmt::format("line {}: store '{}', spec '{}'", line, more_a ? line_a : "<end>",
                          more_b ? line_b : "<end>")};
    }
  }
}

}  // namespace

std::vector<std::string> spec_differences(const std::string& store_text, const std::string& spec_text) {
  const auto stored = parse(store_text);
  const auto wanted = parse(spec_text);
  if (!stored || !wanted) return line_difference(store_text, spec_text);
  std::vector<std::string> lines;
  auto s = stored->begin();
  auto w = wanted->begin();
  while (s != stored->end() || w != wanted->end()) {
    if (w == wanted->end() || (s != stored->end() && s->first < w->first)) {
      lines.push_back(fmt::format("{}: only in the store ({})", s->first, s->second));
      ++s;
    } else if (s == stored->end() || w->first < s->first) {
      lines.push_back(fmt::format("{}: only in the spec ({})", w->first, w->second));
      ++w;
    } else {
      if (s->second != w->second) {
        lines.push_back(fmt::format("{}: store {}, spec {}", s->first, s->second, w->second));
      }
      ++s;
      ++w;
    }
  }
  return lines;
}

}  // namespace cir::store
