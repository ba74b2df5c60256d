#include "workers/trial_state.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fields_json.hpp"

namespace cir::workers {

nlohmann::json to_json(const TrialState& state) {
  return {{"epoch", state.epoch},
          {"step", state.step},
          {"sums",
           {{"loss_total", state.sums.loss_total},
            {"loss_info", state.sums.loss_info},
            {"loss_u", state.sums.loss_u},
            {"aug_std", state.sums.aug_std},
            {"steps", state.sums.steps},
            {"samples", state.sums.samples},
            {"train_seconds", state.sums.train_seconds}}},
          {"history", state.history}};
}

TrialState trial_state_from_json(const nlohmann::json& j, const std::string& what) {
  try {
    TrialState state;
    state.epoch = j.at("epoch").get<std::int32_t>();
    state.step = j.at("step").get<std::int64_t>();
    const auto& sums = j.at("sums");
    state.sums.loss_total = sums.at("loss_total").get<double>();
    state.sums.loss_info = sums.at("loss_info").get<double>();
    state.sums.loss_u = sums.at("loss_u").get<double>();
    state.sums.aug_std = sums.at("aug_std").get<double>();
    state.sums.steps = sums.at("steps").get<std::int64_t>();
    state.sums.samples = sums.at("samples").get<std::int64_t>();
    state.sums.train_seconds = sums.at("train_seconds").get<double>();
    for (const auto& stored : j.at("history")) {
      // A record from an older checkpoint lacks the fields added since, its
      // recalls' too (they read as their defaults), and may name the id
      // "trial_id".
      nlohmann::json record = EpochRecord{};
      record.update(stored);
      if (!stored.contains("trial")) record["trial"] = stored.at("trial_id");
      for (auto& recall : record.at("recalls")) {
        nlohmann::json filled = RecallValue{};
        filled.update(recall);
        recall = std::move(filled);
      }
      state.history.push_back(record.get<EpochRecord>());
    }
    return state;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("checkpoint state is malformed: ") + e.what(), Where{.file = what},
                "delete the trial's checkpoint folder to restart the trial from scratch");
  }
}

}  // namespace cir::workers
