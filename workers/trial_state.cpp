#include "workers/trial_state.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace cir::workers {

namespace {

nlohmann::json record_json(const EpochRecord& record) {
  nlohmann::json recalls = nlohmann::json::array();
  for (const RecallValue& recall : record.recalls) {
    recalls.push_back({{"split", recall.split}, {"k", recall.k}, {"value", recall.value}});
  }
  return {{"trial_id", record.trial_id},
          {"epoch", record.epoch},
          {"loss_total", record.loss_total},
          {"loss_info", record.loss_info},
          {"loss_u", record.loss_u},
          {"gamma", record.gamma},
          {"aug_std", record.aug_std},
          {"lr", record.lr},
          {"train_seconds", record.train_seconds},
          {"eval_seconds", record.eval_seconds},
          {"samples_per_second", record.samples_per_second},
          {"recalls", recalls}};
}

EpochRecord record_from(const nlohmann::json& j) {
  EpochRecord record;
  record.trial_id = j.at("trial_id").get<std::string>();
  record.epoch = j.at("epoch").get<std::int32_t>();
  record.loss_total = j.at("loss_total").get<double>();
  record.loss_info = j.at("loss_info").get<double>();
  record.loss_u = j.at("loss_u").get<double>();
  record.gamma = j.at("gamma").get<double>();
  record.aug_std = j.at("aug_std").get<double>();
  record.lr = j.at("lr").get<double>();
  record.train_seconds = j.at("train_seconds").get<double>();
  record.eval_seconds = j.at("eval_seconds").get<double>();
  record.samples_per_second = j.at("samples_per_second").get<double>();
  for (const auto& recall : j.at("recalls")) {
    record.recalls.push_back(RecallValue{.split = recall.at("split").get<std::string>(),
                                         .k = recall.at("k").get<std::int32_t>(),
                                         .value = recall.at("value").get<double>()});
  }
  return record;
}

}  // namespace

nlohmann::json to_json(const TrialState& state) {
  nlohmann::json history = nlohmann::json::array();
  for (const EpochRecord& record : state.history) history.push_back(record_json(record));
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
          {"history", history}};
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
    for (const auto& record : j.at("history")) state.history.push_back(record_from(record));
    return state;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("checkpoint state is malformed: ") + e.what(), Where{.file = what},
                "delete the trial's checkpoint folder to restart the trial from scratch");
  }
}

}  // namespace cir::workers
