// The real trainer (workers/runner.hpp): one trial on one group of ranks.
#include <dlfcn.h>
#include <mpi.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <thread>

#include "common/checked_cast.hpp"
#include "common/collective_watch.hpp"
#include "common/error.hpp"
#include "common/fault.hpp"
#include "common/log.hpp"
#include "common/params.hpp"
#include "common/rng.hpp"
#include "datasets/dataset.hpp"
#include "datasets/loader.hpp"
#include "model/composed.hpp"
#include "model/losses.hpp"
#include "model/text/text_stack.hpp"
#include "workers/checkpoint.hpp"
#include "workers/comm.hpp"
#include "workers/device_feed.hpp"
#include "workers/gradient_sync.hpp"
#include "workers/group_errors.hpp"
#include "workers/keyed_random.hpp"
#include "workers/lr_schedule.hpp"
#include "workers/precision.hpp"
#include "workers/runner.hpp"
#include "workers/sync_bn.hpp"
#include "workers/trainer_eval.hpp"
#include "workers/trainer_weights.hpp"
#include "workers/trial_state.hpp"

namespace cir::workers {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The ranks on this node share its cores.
int intra_op_threads(const Params& params, int local_size) {
  const std::int64_t requested = params.get(keys::train::threads);
  if (requested > 0) return static_cast<int>(requested);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / local_size);
}

// OpenBLAS keeps its own thread pool (every core by default), which
// LibTorch's set_num_threads does not reach: ranks sharing a node would
// oversubscribe it. Set it too when the BLAS in use is OpenBLAS.
void set_threads(int threads) {
  torch::set_num_threads(threads);
  using SetBlasThreads = void (*)(int);
  if (auto* set_blas = reinterpret_cast<SetBlasThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set_blas(threads);
  }
}

// The GPU of a rank is its local rank's, round robin.
torch::Device device_from(const Params& params, int local_rank) {
  // The contract's choices are "cpu" and "cuda".
  if (params.get(keys::train::device) == "cpu") return torch::kCPU;
  if (!torch::cuda::is_available()) {
    throw Error("train.device is \"cuda\" but this build of LibTorch sees no GPU",
                params.where(keys::train::device),
                "use train.device = \"cpu\", or build cir against a CUDA LibTorch");
  }
  const int gpus = static_cast<int>(torch::cuda::device_count());
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % gpus)};
}

// One run of one trial on this rank.
class TrialRun {
 public:
  explicit TrialRun(const TrialContext& context)
      : context_(context),
        trial_(*context.trial),
        params_(trial_.params_json, trial_.id),
        comm_(Comm::from_fortran(context.group_comm_f)),
        device_(device_from(params_, context.local_rank)),
        precision_(precision_of(params_)),
        epochs_(
            checked_cast<std::int32_t>(params_.get(keys::train::epochs), params_.where(keys::train::epochs))),
        eval_every_(params_.get(keys::eval::every)),
        base_lr_(params_.get(keys::train::lr)),
        clip_grad_(params_.get(keys::train::clip_grad)),
        schedule_(schedule_from(params_)),
        loss_options_(model::loss_options(params_)) {
    set_threads(intra_op_threads(params_, context.local_size));
    apply_matmul_precision(precision_);
    dataset_ = datasets::open_dataset(params_);
    // Same seed on every rank: identical initial weights without a broadcast.
    torch::manual_seed(keyed_seed(seed(), purpose::weight_init, 0, 0));
    text_ = model::make_text_stack(params_, dataset_->training_captions());
    net_ = model::ComposedModel(model::model_options(params_), text_.encoder);
    net_->to(device_);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    for (const auto& group :
         net_->parameter_groups(params_.get(keys::train::text_lr_factor), text_.pretrained)) {
      auto options = std::make_unique<torch::optim::SGDOptions>(base_lr_ * group.lr_factor);
      options->momentum(params_.get(keys::train::momentum))
          .weight_decay(params_.get(keys::train::weight_decay));
      groups.emplace_back(group.params, std::move(options));
      lr_factors_.push_back(group.lr_factor);
    }
    optimizer_.emplace(std::move(groups), torch::optim::SGDOptions(base_lr_)
                                              .momentum(params_.get(keys::train::momentum))
                                              .weight_decay(params_.get(keys::train::weight_decay)));
    loader_.emplace(dataset_, text_.tokenizer, params_, comm_.rank(), comm_.size(), seed(),
                    host_memory_for(device_));
    checkpoints_.emplace(context.checkpoint_dir,
                         checked_cast<int>(params_.get(keys::train::checkpoint_keep),
                                           params_.where(keys::train::checkpoint_keep)));
  }

  TrialResult run() {
    try {
      return train();
    } catch (const std::exception& e) {
      return thrown_result(e, state_.epoch);
    }
  }

 private:
  std::uint64_t seed() const { return static_cast<std::uint64_t>(trial_.seed); }

  TrialResult train() {
    {
      const mpi::LongPhase phase("checkpoint read");
      restore();
    }
    const SyncBatchNormScope sync_bn(comm_);
    GradientSync gradients(comm_, net_->parameters());
    while (state_.epoch < epochs_) {
      if (auto stopped_or_diverged = train_epoch(gradients)) return *stopped_or_diverged;
      finish_epoch();
    }
    return TrialResult{.outcome = TrialResult::Outcome::done, .epoch = epochs_ - 1, .message = {}};
  }

  // Loads the newest checkpoint, if any, and reports the epochs it holds
  // that the store does not have yet.
  void restore() {
    reported_ = context_.resume_from;
    const std::optional<Checkpoint> checkpoint = checkpoints_->latest();
    if (!checkpoint) {
      if (reported_ > 0) {
        log::warn(
            "trial {}: no checkpoint in {}; retraining the {} committed epoch(s) without reporting them",
            trial_.id, context_.checkpoint_dir, reported_);
      }
      return;
    }
    const std::string what = (checkpoints_->path() / checkpoint->name).string();
    state_ = trial_state_from_json(checkpoint->state, what);
    load_weights(*net_, *optimizer_, checkpoint->tensors, what);
    saved_ = {state_.epoch, state_.step};
    for (const EpochRecord& record : state_.history) {
      if (record.epoch == reported_) report(record);
    }
    if (state_.epoch < reported_) {
      log::warn(
          "trial {}: the newest checkpoint is at epoch {} but the store has {} epoch(s); retraining the "
          "missing ones without reporting them",
          trial_.id, state_.epoch, reported_);
    }
  }

  void report(const EpochRecord& record) {
    if (comm_.leader() && context_.report) context_.report(record);
    reported_ = record.epoch + 1;
  }

  // Trains the rest of the current epoch. Returns the outcome when the trial
  // stops or diverges, nothing when the epoch is complete.
  std::optional<TrialResult> train_epoch(GradientSync& gradients) {
    const std::int32_t epoch = state_.epoch;
    const double factor = lr_factor(schedule_, epoch);
    auto& groups = optimizer_->param_groups();
    for (std::size_t g = 0; g < groups.size(); ++g) {
      static_cast<torch::optim::SGDOptions&>(groups[g].options()).lr(base_lr_ * factor * lr_factors_[g]);
    }
    // The first epoch of a run loads from cold caches: the ranks may take
    // very different times (a long phase for the stall inspector).
    const auto loading = [&](auto&& load) {
      std::optional<mpi::LongPhase> phase;
      if (cold_) phase.emplace("data loading of the first epoch");
      return load();
    };
    agreed(comm_.mpi(), [&] {
      return loading([&] {
        loader_->start_epoch(epoch, state_.step);
        return 0;
      });
    });
    // The next batch's copies to the GPU overlap this step's compute.
    DeviceFeed<datasets::TrainBatch> feed(
        device_,
        [&] { return agreed(comm_.mpi(), [&] { return loading([&] { return loader_->next(); }); }); },
        [](datasets::TrainBatch& b) {
          return std::vector{&b.reference, &b.target, &b.ids, &b.mask};
        });
    while (true) {
      const auto start = Clock::now();
      std::optional<datasets::TrainBatch> batch = feed.next();
      if (!batch) return std::nullopt;
      mpi::position(epoch, state_.step);
      fault_point("train.step");
      if (context_.stop_requested && context_.stop_requested()) {
        save();
        return TrialResult{.outcome = TrialResult::Outcome::stopped, .epoch = epoch, .message = {}};
      }
      if (auto diverged = step(*batch, gradients)) return diverged;
      state_.sums.train_seconds += seconds_since(start);
    }
  }

  std::optional<TrialResult> step(const datasets::TrainBatch& batch, GradientSync& gradients) {
    const std::int32_t epoch = state_.epoch;
    const auto step_index = static_cast<std::uint32_t>(state_.step);
    net_->train();
    torch::manual_seed(keyed_seed(seed(), purpose::dropout, static_cast<std::uint32_t>(epoch), step_index,
                                  static_cast<std::uint64_t>(comm_.rank())));
    torch::Tensor target, composed;
    {
      const AutocastScope autocast(precision_, device_);
      target = net_->image_features(batch.target);
      composed = net_->compose(batch.reference, batch.ids, batch.mask);
    }
    // The loss and the augmenter's statistics in float32 whatever the precision.
    target = target.to(torch::kFloat);
    composed = composed.to(torch::kFloat);
    const torch::Tensor fs = all_gather_rows(comm_, composed);
    const torch::Tensor ft = all_gather_rows(comm_, target);
    const model::LossTerms terms = model::total_loss(
        fs, ft, loss_options_, epoch, epochs_,
        keyed_generator(seed(), purpose::augmenter_noise, static_cast<std::uint32_t>(epoch), step_index));
    const double total = terms.total.item<double>();
    if (!std::isfinite(total)) {
      return TrialResult{.outcome = TrialResult::Outcome::diverged,
                         .epoch = epoch,
                         .message = fmt::format("loss is {} at epoch {}, step {} (lr {})", total, epoch,
                                                state_.step, base_lr_ * lr_factor(schedule_, epoch))};
    }
    log::debug("trial {} epoch {} step {}: loss {:.9g} (info {:.9g}, u {:.9g})", trial_.id, epoch,
               state_.step, total, terms.info.item<double>(), terms.u.item<double>());
    optimizer_->zero_grad();
    terms.total.backward();
    gradients.complete();
    if (clip_grad_ > 0.0) torch::nn::utils::clip_grad_norm_(net_->parameters(), clip_grad_);
    optimizer_->step();
    state_.sums.loss_total += total;
    state_.sums.loss_info += terms.info.item<double>();
    state_.sums.loss_u += terms.u.item<double>();
    state_.sums.aug_std += terms.aug_std.item<double>();
    state_.sums.steps += 1;
    state_.sums.samples += fs.size(0);
    state_.step += 1;
    return std::nullopt;
  }

  bool evaluates(std::int32_t epoch) const { return (epoch + 1) % eval_every_ == 0 || epoch + 1 == epochs_; }

  void finish_epoch() {
    const std::int32_t epoch = state_.epoch;
    const EpochSums& sums = state_.sums;
    const double steps = static_cast<double>(std::max<std::int64_t>(sums.steps, 1));
    EpochRecord record{.trial_id = trial_.id,
                       .epoch = epoch,
                       .loss_total = sums.loss_total / steps,
                       .loss_info = sums.loss_info / steps,
                       .loss_u = sums.loss_u / steps,
                       .gamma = model::gamma_at(loss_options_.gamma0, epoch, epochs_),
                       .aug_std = sums.aug_std / steps,
                       .lr = base_lr_ * lr_factor(schedule_, epoch),
                       .train_seconds = sums.train_seconds,
                       .eval_seconds = 0.0,
                       .samples_per_second = sums.train_seconds > 0.0
                                                 ? static_cast<double>(sums.samples) / sums.train_seconds
                                                 : 0.0,
                       .recalls = {}};
    const bool reporting = epoch >= reported_;
    cold_ = false;
    if (reporting && evaluates(epoch)) {
      const auto start = Clock::now();
      const mpi::LongPhase phase("evaluation");
      record.recalls = evaluate(*net_, dataset_, text_.tokenizer, params_, comm_, device_);
      record.eval_seconds = seconds_since(start);
    }
    state_.epoch += 1;
    state_.step = 0;
    state_.sums = EpochSums{};
    if (reporting) state_.history.push_back(record);
    save();
    if (reporting) report(record);
  }

  // Checkpoints the current position (the group leader writes it; a full
  // disk under it ends the run on every rank of the group as an I/O fault).
  void save() {
    const std::pair position{state_.epoch, state_.step};
    if (saved_ == position) return;
    agreed(comm_.mpi(), [&] {
      if (comm_.leader()) {
        const mpi::LongPhase phase("checkpoint write");
        checkpoints_->save(to_json(state_), weight_tensors(*net_, *optimizer_));
      }
      return 0;
    });
    saved_ = position;
  }

  const TrialContext& context_;
  const TrialSpec& trial_;
  const Params params_;
  Comm comm_;
  torch::Device device_;
  Precision precision_;
  std::int32_t epochs_;
  std::int64_t eval_every_;
  double base_lr_;
  double clip_grad_;
  Schedule schedule_;
  model::LossOptions loss_options_;
  std::shared_ptr<datasets::Dataset> dataset_;
  model::TextStack text_;
  model::ComposedModel net_{nullptr};
  std::vector<double> lr_factors_;
  std::optional<torch::optim::SGD> optimizer_;
  std::optional<datasets::TrainLoader> loader_;
  std::optional<CheckpointDir> checkpoints_;
  TrialState state_;
  std::pair<std::int32_t, std::int64_t> saved_{0, 0};  // the position of the newest checkpoint
  std::int32_t reported_ = 0;
  bool cold_ = true;  // the first epoch of this run is not finished yet
};

class Trainer final : public TrialRunner {
 public:
  TrialResult run(const TrialContext& context) override {
    std::optional<TrialRun> run;
    try {
      const mpi::LongPhase phase("trial setup");
      run.emplace(context);
    } catch (const std::exception& e) {
      return thrown_result(e, context.resume_from);
    }
    return run->run();
  }
};

}  // namespace

std::unique_ptr<TrialRunner> make_trainer() { return std::make_unique<Trainer>(); }

}  // namespace cir::workers
