#include "launcher/protocol.hpp"

#include <stdexcept>

namespace cir::launcher {

using nlohmann::json;

json to_json(const EpochRecord& r) {
  json recalls = json::array();
  for (const auto& v : r.recalls) recalls.push_back({{"split", v.split}, {"k", v.k}, {"value", v.value}});
  return {{"trial", r.trial_id},
          {"epoch", r.epoch},
          {"loss_total", r.loss_total},
          {"loss_info", r.loss_info},
          {"loss_u", r.loss_u},
          {"gamma", r.gamma},
          {"aug_std", r.aug_std},
          {"lr", r.lr},
          {"train_seconds", r.train_seconds},
          {"eval_seconds", r.eval_seconds},
          {"samples_per_second", r.samples_per_second},
          {"recalls", std::move(recalls)}};
}

EpochRecord record_from_json(const json& j) {
  EpochRecord r;
  r.trial_id = j.at("trial").get<std::string>();
  r.epoch = j.at("epoch").get<std::int32_t>();
  r.loss_total = j.at("loss_total").get<double>();
  r.loss_info = j.at("loss_info").get<double>();
  r.loss_u = j.at("loss_u").get<double>();
  r.gamma = j.at("gamma").get<double>();
  r.aug_std = j.at("aug_std").get<double>();
  r.lr = j.at("lr").get<double>();
  r.train_seconds = j.at("train_seconds").get<double>();
  r.eval_seconds = j.at("eval_seconds").get<double>();
  r.samples_per_second = j.at("samples_per_second").get<double>();
  for (const auto& v : j.at("recalls"))
    r.recalls.push_back(RecallValue{v.at("split").get<std::string>(), v.at("k").get<std::int32_t>(),
                                    v.at("value").get<double>()});
  return r;
}

const char* to_string(TrialResult::Outcome outcome) {
  switch (outcome) {
    case TrialResult::Outcome::done:
      return "done";
    case TrialResult::Outcome::failed:
      return "failed";
    case TrialResult::Outcome::diverged:
      return "diverged";
    case TrialResult::Outcome::stopped:
      return "stopped";
  }
  return "unknown";
}

json to_json(const ResultMessage& m) {
  return {{"trial", m.trial_id},
          {"outcome", static_cast<int>(m.result.outcome)},
          {"epoch", m.result.epoch},
          {"message", m.result.message},
          {"group", m.group}};
}

ResultMessage result_from_json(const json& j) {
  ResultMessage m;
  m.trial_id = j.at("trial").get<std::string>();
  const int outcome = j.at("outcome").get<int>();
  if (outcome < 0 || outcome > static_cast<int>(TrialResult::Outcome::stopped))
    throw std::invalid_argument("unknown trial outcome in a result message");
  m.result.outcome = static_cast<TrialResult::Outcome>(outcome);
  m.result.epoch = j.at("epoch").get<std::int32_t>();
  m.result.message = j.at("message").get<std::string>();
  m.group = j.at("group").get<int>();
  return m;
}

}  // namespace cir::launcher
