#include "tests/launcher/fake_runner.hpp"

#include <mpi.h>

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "common/collective_watch.hpp"
#include "common/fault.hpp"

namespace cir::testing {

namespace {

using nlohmann::json;

std::string env(const char* name, const std::string& fallback = {}) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : fallback;
}

class FakeRunner : public TrialRunner {
 public:
  explicit FakeRunner(FakeOptions options) : options_(std::move(options)) {
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank_);
  }

  TrialResult run(const TrialContext& context) override {
    const TrialSpec& trial = *context.trial;
    const json params = json::parse(trial.params_json);
    const int epochs = params.at("train.epochs").get<int>();
    const MPI_Comm group = MPI_Comm_f2c(context.group_comm_f);
    audit(fmt::format("run {} rank {} group_rank {} group_size {} resume_from {} local_rank {} local_size {}",
                      trial.id, world_rank_, context.group_rank, context.group_size, context.resume_from,
                      context.local_rank, context.local_size));
    const bool fails = !options_.fail_key.empty() && params.contains(options_.fail_key) &&
                       params.at(options_.fail_key).dump() == options_.fail_value &&
                       (options_.fail_times < 0 || failures_ < options_.fail_times);
    const double step_seconds =
        options_.seconds_per_cost > 0
            ? trial.expected_cost / epochs * options_.seconds_per_cost / options_.steps_per_epoch
            : options_.step_seconds;
    for (int epoch = context.resume_from; epoch < epochs; ++epoch) {
      if (fails && epoch == options_.fail_epoch) {
        ++failures_;
        throw std::runtime_error(fmt::format("fake failure at epoch {}", epoch));
      }
      for (int step = 0; step < options_.steps_per_epoch; ++step) {
        mpi::position(epoch, step);
        fault_point("train.step");
        if (context.stop_requested()) {
          audit(fmt::format("stop {} epoch {}", trial.id, epoch));
          return TrialResult{.outcome = TrialResult::Outcome::stopped, .epoch = epoch, .message = {}};
        }
        std::this_thread::sleep_for(std::chrono::duration<double>(step_seconds));
        check_same_trial(trial, group, context.group_size);
      }
      EpochRecord record;
      record.trial_id = trial.id;
      record.epoch = epoch;
      record.loss_total = fake_loss(trial, epoch);
      record.loss_info = record.loss_total / 2;
      record.lr = params.at("train.lr").get<double>();
      record.train_seconds = step_seconds * options_.steps_per_epoch;
      record.recalls = {{"test", 10, 10.0 * (epoch + 1)}, {"test", 50, 50.0}};
      if (context.group_rank == 0) context.report(record);
      audit(fmt::format("epoch {} {}", trial.id, epoch));
    }
    return TrialResult{};
  }

 private:
  // Two collectives like the trainer's (watched: common/collective_watch.hpp).
  void check_same_trial(const TrialSpec& trial, MPI_Comm group, int group_size) const {
    if (group_size == 1) return;
    const long long mine = static_cast<long long>(std::hash<std::string>{}(trial.id) >> 2);
    auto values = std::make_unique<std::array<long long, 3>>(std::array<long long, 3>{mine, 0, 0});
    auto& v = *values;
    for (const auto& [op, out] : {std::pair{MPI_MIN, 1}, std::pair{MPI_MAX, 2}})
      mpi::collective(
          group, "MPI_Iallreduce",
          [&](MPI_Request* r) { return MPI_Iallreduce(&v[0], &v[out], 1, MPI_LONG_LONG, op, group, r); },
          [&] { return std::move(values); });
    if (v[1] != v[2]) throw std::runtime_error("the ranks of a group run different trials");
  }

  void audit(const std::string& line) const {
    if (options_.audit_dir.empty()) return;
    std::ofstream out(std::filesystem::path(options_.audit_dir) / fmt::format("rank{}.log", world_rank_),
                      std::ios::app);
    out << line << '\n';
  }

  FakeOptions options_;
  int world_rank_ = 0;
  int failures_ = 0;  // runs this process failed on purpose
};

}  // namespace

FakeOptions fake_options_from_env() {
  FakeOptions options;
  options.step_seconds = std::stod(env("CIR_FAKE_STEP_MS", "5")) / 1000.0;
  options.steps_per_epoch = std::stoi(env("CIR_FAKE_STEPS", "4"));
  options.seconds_per_cost = std::stod(env("CIR_FAKE_SECONDS_PER_COST", "0"));
  if (const std::string fail = env("CIR_FAKE_FAIL"); !fail.empty()) {
    const auto eq = fail.find('=');
    options.fail_key = fail.substr(0, eq);
    options.fail_value = json::parse(fail.substr(eq + 1)).dump();
  }
  options.fail_epoch = std::stoi(env("CIR_FAKE_FAIL_EPOCH", "1"));
  options.fail_times = std::stoi(env("CIR_FAKE_FAIL_TIMES", "-1"));
  options.audit_dir = env("CIR_FAKE_AUDIT");
  return options;
}

double fake_loss(const TrialSpec& trial, int epoch) {
  const auto h = static_cast<double>(std::hash<std::string>{}(trial.id) % 1000);
  return 1.0 / (1.0 + epoch) + 0.001 * h;
}

std::unique_ptr<TrialRunner> make_fake_runner(const FakeOptions& options) {
  return std::make_unique<FakeRunner>(options);
}

}  // namespace cir::testing
