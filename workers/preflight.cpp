#include "workers/preflight.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>

#include "common/keys.hpp"
#include "common/params.hpp"
#include "datasets/dataset.hpp"
#include "model/composed.hpp"
#include "model/text/text_stack.hpp"

namespace cir::workers {

namespace {

// One check: the keys it reads (its result depends on nothing else) and
// what it runs.
struct Check {
  std::vector<const keys::Key*> reads;
  void (*run)(const cir::Params&);
};

const Check kChecks[] = {
    {{&keys::data::dataset, &keys::data::root, &keys::data::layout, &keys::data::fashioniq::protocol},
     datasets::check_dataset_files},
    {{&keys::model::image::weights}, model::check_image_weights},
    {{&keys::model::text::encoder, &keys::model::text::weights}, model::check_text_weights},
};

}  // namespace

std::vector<InputProblem> check_inputs(const std::vector<TrialSpec>& trials) {
  std::vector<InputProblem> problems;
  // (check, the values of the keys it reads) -> its problem, if any.
  std::map<std::pair<std::size_t, std::string>, std::optional<std::size_t>> done;
  for (const TrialSpec& trial : trials) {
    const nlohmann::json values = nlohmann::json::parse(trial.params_json);
    // No trial id: the same problem reads the same in every trial.
    const cir::Params params(trial.params_json);
    for (std::size_t c = 0; c < std::size(kChecks); ++c) {
      nlohmann::json read = nlohmann::json::array();
      for (const keys::Key* key : kChecks[c].reads) read.push_back(values.value(key->name, nlohmann::json()));
      auto [it, first] = done.try_emplace({c, read.dump()});
      if (first) {
        try {
          kChecks[c].run(params);
        } catch (const Error& e) {
          it->second = problems.size();
          problems.push_back(InputProblem{.error = e, .trials = {}});
        }
      }
      if (it->second) problems[*it->second].trials.push_back(trial.index);
    }
  }
  return problems;
}

}  // namespace cir::workers
