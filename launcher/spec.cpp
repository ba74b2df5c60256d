#include "launcher/spec.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <regex>
#include <set>
#include <sstream>

#include "common/checked_cast.hpp"
#include "common/keys.hpp"
#include "common/text.hpp"
#include "launcher/schema.hpp"

namespace cir::launcher {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const char* const kKeysHint = "sweeps/README.md lists every key";

Where at(const std::string& file, const toml::source_region& region, std::string key = {}) {
  return Where{.file = file,
               .line = static_cast<int>(region.begin.line),
               .column = static_cast<int>(region.begin.column),
               .key = std::move(key)};
}

using Entries = std::vector<std::pair<const toml::key*, const toml::node*>>;

// The entries of a table in the order they appear in the file (toml++ keeps
// tables sorted by key; grid axes and union blocks are ordered by position).
Entries in_file_order(const toml::table& table) {
  Entries entries;
  for (auto&& [k, v] : table) entries.emplace_back(&k, &v);
  auto position = [](const auto& e) {
    const auto& r = e.first->source().begin.line ? e.first->source() : e.second->source();
    return std::pair(r.begin.line, r.begin.column);
  };
  std::stable_sort(entries.begin(), entries.end(),
                   [&](const auto& a, const auto& b) { return position(a) < position(b); });
  return entries;
}

[[noreturn]] void unknown_key(const std::string& key, Where where) {
  const std::string guess = suggest_key(key);
  throw Error("unknown key", std::move(where),
              guess.empty() ? std::string(kKeysHint) : fmt::format("did you mean '{}'?", guess));
}

std::string expand_env(const std::string& text, const Where& where) {
  static const std::regex pattern(R"(\$\{([A-Za-z_][A-Za-z0-9_]*)\})");
  std::string out;
  auto begin = std::sregex_iterator(text.begin(), text.end(), pattern);
  std::size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1].str();
    const char* value = std::getenv(name.c_str());
    if (value == nullptr)
      throw Error(fmt::format("environment variable {} is not set", name), where,
                  fmt::format("export {}=… before running, or write the value itself", name));
    out += text.substr(last, static_cast<std::size_t>(it->position()) - last);
    out += value;
    last = static_cast<std::size_t>(it->position() + it->length());
  }
  return out + text.substr(last);
}

// TOML → JSON: +inf becomes "inf" (and -inf, nan their strings, which the
// schema refuses); strings get ${ENV} expanded.
json to_json(const toml::node& node, const Where& where) {
  switch (node.type()) {
    case toml::node_type::boolean:
      return *node.value<bool>();
    case toml::node_type::integer:
      return *node.value<std::int64_t>();
    case toml::node_type::floating_point: {
      const double d = *node.value<double>();
      if (std::isnan(d)) return "nan";
      if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
      return d;
    }
    case toml::node_type::string:
      return expand_env(*node.value<std::string>(), where);
    case toml::node_type::array: {
      json out = json::array();
      for (const auto& element : *node.as_array()) out.push_back(to_json(element, where));
      return out;
    }
    case toml::node_type::table:
      throw Error("expected a value, found a table", where, kKeysHint);
    default:
      throw Error("dates and times are not spec values", where, kKeysHint);
  }
}

// A string value is one line of printable UTF-8 text (sweep.description may
// also hold tabs and line breaks): a NUL or a line break in a name or a path
// is a mistake that would otherwise surface far away (a store file name, a
// log line cut in two).
void check_text(const keys::Key& key, const json& value, const Where& where) {
  if (!value.is_string()) return;
  const auto& text = value.get_ref<const std::string&>();
  if (const auto bad = first_invalid_utf8(text); bad != std::string::npos)
    throw Error(fmt::format("the string is not UTF-8 text: byte {} (0x{:02X}) is not part of a character",
                            bad, static_cast<unsigned char>(text[bad])),
                where, "spec strings (and ${ENV} values in them) must be UTF-8");
  const bool free_text = &key == &keys::sweep::description;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c >= 0x20 && c != 0x7F) || (free_text && (c == '\n' || c == '\t'))) continue;
    throw Error(fmt::format("the string holds the control character U+{:04X} at byte {}", c, i), where,
                "names, paths and choices are one line of printable text");
  }
}

Setting checked(const keys::Key& spec, const toml::node& node, Where where) {
  try {
    json value = to_json(node, where);
    check_text(spec, value, where);
    return Setting{keys::check(spec, value), where};
  } catch (const Error& e) {
    // Point at the offending element of a list.
    if (const auto* list = node.as_array(); list != nullptr && spec.type == keys::Type::integer_list) {
      for (const auto& element : *list) {
        const Where element_where = at(where.file, element.source(), where.key);
        try {
          keys::check(spec, json::array({to_json(element, element_where)}));
        } catch (const Error&) {
          throw e.within(element_where);
        }
      }
    }
    throw e.within(where);
  }
}

// One file of the chain, flattened.
struct Layer {
  std::map<std::string, Setting> values;  // every key but the grid, sweep.* included
  std::vector<Axis> common_axes;
  std::vector<std::vector<Axis>> unions;
  bool has_grid = false;
  Where grid_where;
};

void read_axes(const Entries& entries, const std::string& prefix, const std::string& file,
               std::vector<Axis>& axes) {
  for (const auto& [k, node] : entries) {
    const std::string key = prefix + std::string(k->str());
    const Where key_where = at(file, k->source(), key);
    if (const auto* sub = node->as_table(); sub != nullptr && !keys::find(key)) {
      read_axes(in_file_order(*sub), key + ".", file, axes);
      continue;
    }
    const keys::Key* spec = keys::find(key);
    if (spec == nullptr) unknown_key(key, key_where);
    if (!spec->training())
      throw Error("[sweep] keys cannot be grid axes", key_where,
                  "set it in [sweep]; list seeds in sweep.seeds");
    const auto* values = node->as_array();
    if (values == nullptr)
      throw Error("a grid axis must be a list of values", key_where,
                  fmt::format("write \"{}\" = [value, …]", key));
    if (values->empty())
      throw Error("empty axis: a grid axis needs at least one value", key_where,
                  "remove the axis or list its values");
    if (std::any_of(axes.begin(), axes.end(), [&](const Axis& a) { return a.key == key; }))
      throw Error("axis listed twice in one product", key_where);
    Axis axis{.key = key, .values = {}, .where = key_where};
    for (const auto& element : *values)
      axis.values.push_back(checked(*spec, element, at(file, element.source(), key)));
    axes.push_back(std::move(axis));
  }
}

void read_grid(const toml::node& grid, const Where& where, const std::string& file, Layer& layer) {
  const auto* table = grid.as_table();
  if (table == nullptr) throw Error("[grid] must be a table of axes", where);
  layer.has_grid = true;
  layer.grid_where = where;
  Entries common;
  for (const auto& [k, node] : in_file_order(*table)) {
    if (k->str() != "union") {
      common.emplace_back(k, node);
      continue;
    }
    const auto* blocks = node->as_array();
    if (blocks == nullptr || !blocks->is_array_of_tables())
      throw Error("grid.union must be [[grid.union]] blocks", at(file, k->source(), "grid.union"));
    for (const auto& block : *blocks) {
      layer.unions.emplace_back();
      read_axes(in_file_order(*block.as_table()), "", file, layer.unions.back());
    }
  }
  read_axes(common, "", file, layer.common_axes);
  for (const auto& block : layer.unions)
    for (const auto& axis : block)
      for (const auto& c : layer.common_axes)
        if (c.key == axis.key)
          throw Error("key is both a common [grid] axis and a [[grid.union]] axis", axis.where,
                      "keep it in one place: common axes are crossed with every union block");
}

void read_values(const toml::table& table, const std::string& prefix, const std::string& file, Layer& layer) {
  for (const auto& [k, node] : in_file_order(table)) {
    const std::string key = prefix + std::string(k->str());
    const Where key_where = at(file, k->source(), key);
    if (prefix.empty() && key == "grid") {
      read_grid(*node, key_where, file, layer);
      continue;
    }
    const keys::Key* spec = keys::find(key);
    if (spec == nullptr) {
      if (const auto* sub = node->as_table()) {
        read_values(*sub, key + ".", file, layer);
        continue;
      }
      unknown_key(key, key_where);
    }
    const Where value_where = at(file, node->source(), key);
    if (auto it = layer.values.find(key); it != layer.values.end()) {
      const Where& first = it->second.where;
      const bool later =
          std::pair(value_where.line, value_where.column) > std::pair(first.line, first.column);
      throw Error(
          fmt::format("key set twice in one file (also at line {})", later ? first.line : value_where.line),
          later ? value_where : first,
          "a dotted key and a key in its table name the same key: keep one of them");
    }
    layer.values[key] = checked(*spec, *node, value_where);
  }
}

Layer read_layer(const toml::table& root, const std::string& file) {
  Layer layer;
  read_values(root, "", file, layer);
  return layer;
}

toml::table parse(std::string_view text, const std::string& file) {
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    throw Error(fmt::format("not valid TOML: {}", e.description()), at(file, e.source()),
                "see https://toml.io for the syntax");
  }
}

std::string read_file(const fs::path& path, const Where& where) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::set<std::string> specs;
    for (const auto& entry : fs::directory_iterator(path, ec))
      if (entry.path().extension() == ".toml") specs.insert(entry.path().string());
    throw Error(fmt::format("{} is a folder, not a spec file", path.string()), where,
                specs.empty() ? "give the path of a sweep spec (a .toml file)"
                              : fmt::format("give one of its specs, e.g. {}", *specs.begin()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)), where,
                "check the path");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Loaded {
  Layer merged;                 // values merged over the chain; the grid of the spec itself
  std::vector<fs::path> chain;  // nearest first
};

// `stack` holds the files being loaded (canonical, for the cycle check) and
// `names` the same as written, for messages.
Loaded load_chain(std::string_view text, const fs::path& path, std::vector<fs::path>& stack,
                  std::vector<std::string>& names) {
  const std::string file = path.string();
  Layer layer = read_layer(parse(text, file), file);
  Loaded loaded;
  loaded.chain.push_back(path);
  if (auto it = layer.values.find(keys::sweep::extends.name); it != layer.values.end()) {
    const Where where = it->second.where;
    const fs::path preset = path.parent_path() / it->second.value.get<std::string>();
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(preset, ec);
    // The error_code form: a name longer than the file system allows is
    // "not found" too, not an exception (found by tests/fuzz/spec_fuzz.cpp).
    if (!fs::is_regular_file(preset, ec))
      throw Error(fmt::format("preset {} not found", preset.string()), where,
                  "sweep.extends is relative to the file that names it");
    if (std::find(stack.begin(), stack.end(), canonical) != stack.end()) {
      throw Error(fmt::format("extends cycle: {} → {}", fmt::join(names, " → "), preset.string()), where,
                  "a preset cannot extend a file that extends it");
    }
    stack.push_back(canonical);
    names.push_back(preset.string());
    Loaded base = load_chain(read_file(preset, where), preset, stack, names);
    stack.pop_back();
    names.pop_back();
    if (base.merged.has_grid)
      throw Error(fmt::format("a preset cannot have a [grid] (it is extended by {})", file),
                  base.merged.grid_where, "put the grid in the sweep spec");
    loaded.chain.insert(loaded.chain.end(), base.chain.begin(), base.chain.end());
    for (auto& [key, setting] : layer.values) base.merged.values[key] = std::move(setting);
    base.merged.values.erase(keys::sweep::extends.name);
    layer.values = std::move(base.merged.values);
  }
  layer.values.erase(keys::sweep::extends.name);
  loaded.merged = std::move(layer);
  return loaded;
}

// Parses one --set: "key=value"; the value in TOML syntax, or a bare string.
std::pair<std::string, Setting> parse_set(const std::string& text) {
  const auto eq = text.find('=');
  const Where where{.file = "--set"};
  if (eq == std::string::npos || eq == 0)
    throw Error(fmt::format("'{}' is not key=value", text), where, "write --set train.epochs=2");
  std::string key = text.substr(0, eq);
  const std::string value = text.substr(eq + 1);
  Where key_where = where;
  key_where.key = key;
  if (text.find_first_of("\n\r") != std::string::npos)
    throw Error("the argument holds a line break",
                key.find_first_of("\n\r") == std::string::npos ? key_where : where,
                "a --set argument is one line: give each key its own --set");
  const keys::Key* spec = keys::find(key);
  if (spec == nullptr) unknown_key(key, key_where);
  if (spec == &keys::sweep::extends) throw Error("extends cannot be set from the command line", key_where);
  const bool bare_string =
      spec->type == keys::Type::string && (value.empty() || (value[0] != '"' && value[0] != '\''));
  json parsed;
  if (bare_string) {
    parsed = expand_env(value, key_where);
  } else {
    toml::table table;
    try {
      table = toml::parse(std::string_view("v = " + value), std::string_view("--set"));
    } catch (const toml::parse_error&) {
      throw Error(fmt::format("'{}' is not a value: expected {}", value, keys::describe(*spec)), key_where,
                  "values are TOML: 2, 0.5, inf, true, \"text\", [35, 42]");
    }
    parsed = to_json(*table.get("v"), key_where);
  }
  try {
    check_text(*spec, parsed, key_where);
    return {key, Setting{keys::check(*spec, parsed), key_where}};
  } catch (const Error& e) {
    throw e.within(key_where);
  }
}

SweepSpec build_spec(Loaded loaded, const fs::path& file, const std::vector<std::string>& sets) {
  Layer& layer = loaded.merged;
  for (const auto& text : sets) {
    auto [set_key, setting] = parse_set(text);
    const std::string key = set_key;
    layer.values[key] = std::move(setting);
    // A pinned key is no longer swept.
    auto unpin = [&](std::vector<Axis>& axes) {
      std::erase_if(axes, [&](const Axis& a) { return a.key == key; });
    };
    unpin(layer.common_axes);
    for (auto& block : layer.unions) unpin(block);
  }

  SweepSpec spec;
  spec.file = file;
  spec.chain = loaded.chain;
  auto sweep_value = [&](const keys::Key& key) -> json {
    if (auto it = layer.values.find(key.name); it != layer.values.end()) {
      spec.sweep_where[key.name] = it->second.where;
      return it->second.value;
    }
    spec.sweep_where[key.name] = Where{.file = file.string(), .key = key.name};
    return keys::default_value(key);
  };
  const json name = sweep_value(keys::sweep::name);
  if (name.is_null())
    throw Error("the spec has no sweep name", Where{.file = file.string(), .key = keys::sweep::name.name},
                "add [sweep] name = \"…\" (the store becomes results/<name>.h5)");
  spec.name = name.get<std::string>();
  if (spec.name.empty() || spec.name.find('/') != std::string::npos)
    throw Error("a sweep name must be a non-empty file name (no '/')",
                spec.sweep_where[keys::sweep::name.name]);
  spec.description = sweep_value(keys::sweep::description).get<std::string>();
  std::set<std::int64_t> seen_seeds;
  for (const auto& seed : sweep_value(keys::sweep::seeds))
    if (seen_seeds.insert(seed.get<std::int64_t>()).second) spec.seeds.push_back(seed.get<std::int64_t>());
  spec.ranks_per_trial = checked_cast<int>(sweep_value(keys::sweep::ranks_per_trial).get<std::int64_t>(),
                                           spec.sweep_where[keys::sweep::ranks_per_trial.name]);
  spec.max_requeues = checked_cast<int>(sweep_value(keys::sweep::max_requeues).get<std::int64_t>(),
                                        spec.sweep_where[keys::sweep::max_requeues.name]);
  spec.max_retries = checked_cast<int>(sweep_value(keys::sweep::max_retries).get<std::int64_t>(),
                                       spec.sweep_where[keys::sweep::max_retries.name]);
  spec.stall_warning = sweep_value(keys::sweep::stall_warning).get<double>();
  spec.stall_timeout = sweep_value(keys::sweep::stall_timeout).get<double>();
  const std::string store = sweep_value(keys::sweep::store).get<std::string>();
  spec.store = store.empty() ? fs::path("results") / (spec.name + ".h5") : fs::path(store);

  for (const keys::Key* key : keys::all()) {
    if (!key->training()) continue;
    auto it = layer.values.find(key->name);
    spec.settings[key->name] =
        it != layer.values.end() ? it->second : Setting{keys::default_value(*key), Where{.key = key->name}};
  }
  if (layer.unions.empty()) {
    spec.products.push_back(layer.common_axes);
  } else {
    for (auto& block : layer.unions) {
      Product product = layer.common_axes;
      product.insert(product.end(), block.begin(), block.end());
      spec.products.push_back(std::move(product));
    }
  }
  // Counted before anything is expanded: a grid of 10^6 points is refused at
  // once instead of being built in memory.
  double trials = 0;
  for (const auto& product : spec.products) {
    double points = 1;
    for (const auto& axis : product) points *= static_cast<double>(axis.values.size());
    trials += points * static_cast<double>(spec.seeds.size());
  }
  if (trials > static_cast<double>(kMaxTrials))
    throw Error(
        fmt::format("the grid makes {:.0f} trials (seeds × points), more than the {} a sweep may have",
                    trials, kMaxTrials),
        layer.has_grid ? layer.grid_where : spec.sweep_where[keys::sweep::seeds.name],
        "split the grid into several sweeps, or pin axes with --set");
  return spec;
}

void push_json(toml::array& array, const json& value);

// Inserts a schema value (one of the schema's types; "inf" for +infinity).
void insert_json(toml::table& table, const std::string& key, const json& value) {
  if (value.is_boolean()) {
    table.insert_or_assign(key, value.get<bool>());
  } else if (value.is_number_integer()) {
    table.insert_or_assign(key, value.get<std::int64_t>());
  } else if (value.is_number()) {
    table.insert_or_assign(key, value.get<double>());
  } else if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (s == "inf")
      table.insert_or_assign(key, std::numeric_limits<double>::infinity());
    else
      table.insert_or_assign(key, s);
  } else {
    toml::array array;
    for (const auto& element : value) push_json(array, element);
    table.insert_or_assign(key, std::move(array));
  }
}

void push_json(toml::array& array, const json& value) {
  if (value.is_boolean()) {
    array.push_back(value.get<bool>());
  } else if (value.is_number_integer()) {
    array.push_back(value.get<std::int64_t>());
  } else if (value.is_number()) {
    array.push_back(value.get<double>());
  } else if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (s == "inf")
      array.push_back(std::numeric_limits<double>::infinity());
    else
      array.push_back(s);
  } else {
    toml::array nested;
    for (const auto& element : value) push_json(nested, element);
    array.push_back(std::move(nested));
  }
}

toml::table& table_of(toml::table& root, const std::string& dotted, std::string& last) {
  toml::table* table = &root;
  std::string_view rest = dotted;
  for (auto dot = rest.find('.'); dot != std::string_view::npos; dot = rest.find('.')) {
    const std::string part(rest.substr(0, dot));
    if (!table->contains(part)) table->insert(part, toml::table{});
    table = table->get_as<toml::table>(part);
    rest.remove_prefix(dot + 1);
  }
  last = std::string(rest);
  return *table;
}

void insert_dotted(toml::table& root, const std::string& dotted, const json& value) {
  std::string last;
  toml::table& table = table_of(root, dotted, last);
  insert_json(table, last, value);
}

}  // namespace

SweepSpec load_spec_text(std::string_view text, const fs::path& name, const std::vector<std::string>& sets) {
  std::vector<fs::path> stack{fs::weakly_canonical(name)};
  std::vector<std::string> names{name.string()};
  return build_spec(load_chain(text, name, stack, names), name, sets);
}

SweepSpec load_spec(const fs::path& file, const std::vector<std::string>& sets) {
  return load_spec_text(read_file(file, Where{.file = file.string()}), file, sets);
}

fs::path checkpoint_root(const SweepSpec& spec) {
  return spec.store.parent_path() / spec.store.stem() / "checkpoints";
}

std::string resolved_text(const SweepSpec& spec) {
  toml::table root;
  insert_dotted(root, keys::sweep::name.name, spec.name);
  insert_dotted(root, keys::sweep::seeds.name, spec.seeds);
  for (const auto& [key, setting] : spec.settings) insert_dotted(root, key, setting.value);
  toml::array products;
  for (const auto& product : spec.products) {
    toml::table block;
    for (const auto& axis : product) {
      json values = json::array();
      for (const auto& v : axis.values) values.push_back(v.value);
      insert_json(block, axis.key, values);
    }
    products.push_back(std::move(block));
  }
  root.insert("grid", toml::table{{"products", std::move(products)}});
  std::ostringstream out;
  out << toml::toml_formatter(
      root, toml::toml_formatter::default_flags | toml::format_flags::relaxed_float_precision);
  return out.str() + "\n";
}

}  // namespace cir::launcher
