#include "launcher/expand.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/keys.hpp"

namespace cir::launcher {

namespace {

using nlohmann::json;

// Training samples per epoch of the real datasets (docs/paper-notes.md "Datasets and their files").
double train_samples(const json& p) {
  const std::string dataset = p.at(keys::data::dataset.name).get<std::string>();
  if (dataset == "fashioniq")
    return 18000.0 *
           static_cast<double>(p.at(keys::data::fashioniq::queries_per_triplet.name).get<std::int64_t>());
  if (dataset == "shoes") return 10000.0;
  if (dataset == "fashion200k") return 172000.0;
  return static_cast<double>(p.at(keys::data::synthetic::train_queries.name).get<std::int64_t>());
}

double eval_samples(const json& p) {
  const std::string dataset = p.at(keys::data::dataset.name).get<std::string>();
  if (dataset == "fashioniq") return 3 * 2000.0 + 6000.0;
  if (dataset == "shoes") return 4658.0 + 10000.0;
  if (dataset == "fashion200k") return 33480.0 + 29800.0;
  const auto sets = p.at(keys::data::synthetic::attribute_sets.name).get<std::int64_t>();
  const auto twins = p.at(keys::data::synthetic::twins.name).get<std::int64_t>();
  return static_cast<double>(p.at(keys::data::synthetic::test_queries.name).get<std::int64_t>() +
                             sets * (twins + 1));
}

std::string cell(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

// What a trial's id digests: its parameters without the keys added after
// stores existed that sit at their default (keys::Key::added_later), so a
// store's finished trials keep their ids when cir gains a key.
std::string id_text(json params) {
  for (const keys::Key* key : keys::all())
    if (key->added_later && params.contains(key->name) && params[key->name] == keys::default_value(*key))
      params.erase(key->name);
  return canonical_json(params);
}

}  // namespace

std::string canonical_json(const json& params) { return params.dump(); }

double expected_cost(const json& p) {
  const double epochs = static_cast<double>(p.at(keys::train::epochs.name).get<std::int64_t>());
  const double every = static_cast<double>(p.at(keys::eval::every.name).get<std::int64_t>());
  // A forward-only evaluation sample costs about a third of a training one.
  const double samples = train_samples(p) + eval_samples(p) / (3.0 * every);
  const double side = static_cast<double>(p.at(keys::data::image_size.name).get<std::int64_t>()) / 224.0;
  const double width = static_cast<double>(p.at(keys::model::image::width.name).get<std::int64_t>()) / 64.0;
  const double backbone = p.at(keys::model::image::arch.name).get<std::string>() == "resnet50" ? 4.1 : 1.8;
  return epochs * samples * side * side * width * width * backbone * 1e-3;
}

std::vector<TrialSpec> expand(const SweepSpec& spec) {
  json base = json::object();
  for (const auto& [key, setting] : spec.settings) base[key] = setting.value;

  std::vector<std::string> swept;
  for (const auto& product : spec.products)
    for (const auto& axis : product)
      if (std::find(swept.begin(), swept.end(), axis.key) == swept.end()) swept.push_back(axis.key);

  std::vector<TrialSpec> trials;
  std::set<std::string> seen_points;
  for (const auto& product : spec.products) {
    std::vector<std::size_t> at(product.size(), 0);
    for (bool done = false; !done;) {
      json params = base;
      std::map<std::string, const Where*> where;
      for (const auto& [key, setting] : spec.settings) where[key] = &setting.where;
      for (std::size_t a = 0; a < product.size(); ++a) {
        params[product[a].key] = product[a].values[at[a]].value;
        where[product[a].key] = &product[a].values[at[a]].where;
      }
      const std::string text = canonical_json(params);
      const std::string id_base = id_text(params);
      if (seen_points.insert(text).second) {
        const auto batch = params.at(keys::train::batch.name).get<std::int64_t>();
        if (batch % spec.ranks_per_trial != 0) {
          Where w = *where.at(keys::train::batch.name);
          if (w.file.empty()) w = spec.sweep_where.at(keys::sweep::ranks_per_trial.name);
          w.key = keys::train::batch.name;
          throw Error(fmt::format("train.batch = {} is not divisible by sweep.ranks_per_trial = {}", batch,
                                  spec.ranks_per_trial),
                      w, "each rank of a group takes batch / ranks_per_trial samples: change one of them");
        }
        const double cost = expected_cost(params);
        for (const auto seed : spec.seeds) {
          TrialSpec trial;
          trial.seed = seed;
          trial.params_json = text;
          trial.id = short_digest(id_base + "#seed=" + std::to_string(seed));
          trial.index = static_cast<std::int64_t>(trials.size());
          trial.swept_keys = swept;
          trial.expected_cost = cost;
          trials.push_back(std::move(trial));
        }
      }
      // Next point: the last axis turns fastest.
      for (std::size_t a = product.size();;) {
        if (a == 0) {
          done = true;
          break;
        }
        --a;
        if (++at[a] < product[a].values.size()) break;
        at[a] = 0;
      }
    }
  }
  return trials;
}

std::string trial_table(const SweepSpec& spec, const std::vector<TrialSpec>& trials) {
  std::vector<std::string> header{"#", "id", "seed"};
  const std::vector<std::string> swept =
      trials.empty() ? std::vector<std::string>{} : trials.front().swept_keys;
  header.insert(header.end(), swept.begin(), swept.end());
  header.push_back("cost");
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : trials) {
    const json params = json::parse(t.params_json);
    std::vector<std::string> row{std::to_string(t.index), t.id, std::to_string(t.seed)};
    for (const auto& key : swept) row.push_back(cell(params.at(key)));
    row.push_back(fmt::format("{:.3g}", t.expected_cost));
    rows.push_back(std::move(row));
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) out += "  ";
      out += fmt::format("{:<{}}", cells[c], width[c]);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out =
      fmt::format("sweep {}: {} trials ({} seeds × {} points), {} rank(s) per trial, store {}\n", spec.name,
                  trials.size(), spec.seeds.size(), trials.size() / spec.seeds.size(), spec.ranks_per_trial,
                  spec.store.string());
  out += line(header);
  for (const auto& row : rows) out += line(row);
  return out;
}

}  // namespace cir::launcher
