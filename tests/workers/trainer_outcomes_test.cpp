// cir-sweep with the real trainer on 2 ranks: every epoch of every trial
// reaches the store with its losses and recalls, a trial whose loss blows up
// is recorded as diverged, and one with an unreadable image as failed, while
// the others finish; a sweep that skips missing images records how much of
// the protocol it evaluated; a dataset or weights file that is not there
// stops the sweep before any trial starts.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/rng.hpp"
#include "datasets/export.hpp"
#include "datasets/readers.hpp"
#include "datasets/synthetic.hpp"
#include "tests/shell.hpp"
#include "tests/workers/trainer_sweep.hpp"

namespace {

using namespace cir::trainer_test;

TEST(TrainerOutcomes, EveryEpochReachesTheStoreAndADivergingTrialIsRecorded) {
  const Sweep sweep =
      tiny_sweep("outcomes", "ranks_per_trial = 1\n", "\n[grid]\n\"train.lr\" = [0.02, 1e12]\n");
  const int code = run_sweep(sweep, 2);
  ASSERT_EQ(code, 4) << "exit code 4 = finished with failed or diverged trials\n" << read_log(sweep);

  const auto reader = cir::store::Reader::open(sweep.store());
  ASSERT_EQ(reader.trials().size(), 2u);
  int done = 0, diverged = 0;
  for (const auto& trial : reader.trials()) {
    const auto epochs = reader.epochs(trial.spec.id);
    if (trial.status == cir::TrialStatus::diverged) {
      ++diverged;
      EXPECT_NE(trial.error.find("loss"), std::string::npos) << trial.error;
      continue;
    }
    ASSERT_EQ(trial.status, cir::TrialStatus::done) << trial.error;
    ++done;
    ASSERT_EQ(epochs.size(), 2u) << "one row per epoch";
    for (const auto& record : epochs) {
      EXPECT_TRUE(std::isfinite(record.loss_total));
      EXPECT_GT(record.loss_info, 0.0);
      EXPECT_GT(record.lr, 0.0);
      EXPECT_GT(record.samples_per_second, 0.0);
      // One split (the synthetic "test"), Recall@1 and @5, each a percentage.
      ASSERT_EQ(record.recalls.size(), 2u) << row_text(record);
      for (const auto& recall : record.recalls) {
        EXPECT_GE(recall.value, 0.0);
        EXPECT_LE(recall.value, 100.0);
      }
      EXPECT_LE(record.recalls[0].value, record.recalls[1].value) << "R@1 <= R@5";
    }
    EXPECT_DOUBLE_EQ(epochs[0].lr, 0.02);
    EXPECT_NEAR(epochs[1].lr, 0.002, 1e-12) << "×0.1 at lr_steps = [1]";
  }
  EXPECT_EQ(done, 1);
  EXPECT_EQ(diverged, 1);
}

// train.precision = "bf16" trains under CPU autocast: its trial finishes
// with losses close to the fp32 trial's but not equal to them (the forward
// passes ran in bfloat16). A learning rate near zero keeps both trials at
// their common initial weights, so the gap is the arithmetic's alone rather
// than two training runs drifting apart.
TEST(TrainerOutcomes, ABf16TrialTrainsCloseToItsFp32Twin) {
  const Sweep sweep =
      tiny_sweep("precision", "ranks_per_trial = 1\n",
                 "\n[grid]\n\"train.lr\" = [1e-9]\n\"train.precision\" = [\"fp32\", \"bf16\"]\n");
  ASSERT_EQ(run_sweep(sweep, 2), 0) << read_log(sweep);
  const auto reader = cir::store::Reader::open(sweep.store());
  ASSERT_EQ(reader.trials().size(), 2u);
  std::map<std::string, std::vector<cir::EpochRecord>> by_precision;
  for (const auto& trial : reader.trials()) {
    ASSERT_EQ(trial.status, cir::TrialStatus::done) << trial.error;
    const auto params = nlohmann::json::parse(trial.spec.params_json);
    by_precision[params.at("train.precision").get<std::string>()] = reader.epochs(trial.spec.id);
  }
  const auto& fp32 = by_precision.at("fp32");
  const auto& bf16 = by_precision.at("bf16");
  ASSERT_EQ(fp32.size(), 2u);
  ASSERT_EQ(bf16.size(), 2u);
  for (std::size_t e = 0; e < fp32.size(); ++e) {
    EXPECT_TRUE(std::isfinite(bf16[e].loss_total)) << row_text(bf16[e]);
    EXPECT_NE(bf16[e].loss_total, fp32[e].loss_total) << "bf16 ran the same arithmetic as fp32";
    EXPECT_NEAR(bf16[e].loss_total, fp32[e].loss_total, 0.02 * std::abs(fp32[e].loss_total))
        << row_text(bf16[e]) << "\n"
        << row_text(fp32[e]);
    ASSERT_EQ(bf16[e].recalls.size(), fp32[e].recalls.size());
  }
}

// The tiny preset's synthetic data, as the generator makes it.
std::shared_ptr<cir::datasets::SyntheticDataset> tiny_synthetic() {
  cir::datasets::SyntheticOptions options;
  options.attribute_sets = 8;
  options.twins = 2;
  options.train_queries = 48;
  options.test_queries = 24;
  options.image_size = 32;
  return cir::datasets::make_synthetic(options);
}

// A training image that rank 1 of 2 reads in the first step of epoch 0 and
// rank 0 does not (global batch 8: rank 0 takes positions 0-3 of the epoch's
// order, rank 1 positions 4-7), so that only one rank of the group fails.
std::int64_t image_only_rank_1_reads(const cir::datasets::Dataset& dataset, std::uint64_t seed) {
  const auto& training = dataset.training();
  const auto order = cir::CounterRng(seed, cir::purpose::data_order, 0)
                         .permutation(static_cast<std::int64_t>(training.size()));
  std::set<std::int64_t> rank_0;
  for (int p = 0; p < 4; ++p) rank_0.insert({training[order[p]].reference, training[order[p]].target});
  for (int p = 4; p < 8; ++p) {
    for (const std::int64_t image : {training[order[p]].reference, training[order[p]].target}) {
      if (rank_0.count(image) == 0) return image;
    }
  }
  ADD_FAILURE() << "every image of rank 1's first slice is also in rank 0's";
  return training[order[4]].reference;
}

TEST(TrainerOutcomes, ATrialWithAnUnreadableImageFailsNamingItAndTheOthersFinish) {
  namespace fs = std::filesystem;
  // One Shoes folder as exported, and a copy with one training image cut in
  // half; each trial of the sweep reads one of them, on a group of 2 ranks.
  const fs::path data = fs::path(::testing::TempDir()) / ("cir-trainer-shoes-" + std::to_string(getpid()));
  fs::remove_all(data);
  const auto synthetic = tiny_synthetic();
  cir::datasets::export_synthetic(*synthetic, "shoes", data / "good");
  cir::datasets::export_synthetic(*synthetic, "shoes", data / "bad");
  const std::string name = fmt::format("syn{:06d}.jpg", image_only_rank_1_reads(*synthetic, 0));
  fs::path broken;
  for (const auto& entry : fs::recursive_directory_iterator(data / "bad"))
    if (entry.path().filename() == name) broken = entry.path();
  ASSERT_FALSE(broken.empty()) << name << " was not exported";
  fs::resize_file(broken, fs::file_size(broken) / 2);

  const Sweep sweep = tiny_sweep("images", "ranks_per_trial = 2\n",
                                 fmt::format("\n[grid]\n\"data.root\" = [\"{}\", \"{}\"]\n",
                                             (data / "bad").string(), (data / "good").string()));
  const int code = run_sweep(sweep, 2, {"--set", "data.dataset=shoes"});
  ASSERT_EQ(code, 4) << "exit code 4 = finished with failed or diverged trials\n" << read_log(sweep);

  const auto reader = cir::store::Reader::open(sweep.store());
  ASSERT_EQ(reader.trials().size(), 2u);
  for (const auto& trial : reader.trials()) {
    if (trial.spec.params_json.find((data / "bad").string()) != std::string::npos) {
      EXPECT_EQ(trial.status, cir::TrialStatus::failed) << trial.error;
      EXPECT_NE(trial.error.find(broken.string()), std::string::npos)
          << "the error names the file: " << trial.error;
      EXPECT_NE(trial.error.find("rank 1"), std::string::npos)
          << "the error names the rank that read it: " << trial.error;
      EXPECT_EQ(trial.epochs_done, 0);
    } else {
      EXPECT_EQ(trial.status, cir::TrialStatus::done) << trial.error;
      EXPECT_EQ(reader.epochs(trial.spec.id).size(), 2u) << "every epoch of the good trial";
    }
  }
  fs::remove_all(data);
}

// data.missing_images = "skip" on a Shoes folder that lacks one evaluation
// image: the trial runs on what is left, the store records how many queries
// and gallery images of the protocol it was evaluated on, and cir-report says
// so under its table.
TEST(TrainerOutcomes, ASweepThatSkipsMissingImagesRecordsWhatItEvaluatedAndTheReportSaysSo) {
  namespace fs = std::filesystem;
  const Sweep sweep = tiny_sweep("skip", "ranks_per_trial = 1\n");
  const fs::path data = sweep.dir / "shoes";
  cir::datasets::export_synthetic(*tiny_synthetic(), "shoes", data);
  cir::datasets::ReaderOptions options;
  options.root = data;
  options.image_size = 32;
  const auto full = cir::datasets::read_shoes(options);
  ASSERT_EQ(full->splits().size(), 1u);
  const auto& protocol = full->splits()[0];
  ASSERT_TRUE(fs::remove(full->images().name(protocol.queries[0].reference)));
  options.missing_images = "skip";
  const auto left = static_cast<std::int64_t>(cir::datasets::read_shoes(options)->splits()[0].queries.size());
  const auto queries = static_cast<std::int64_t>(protocol.queries.size());
  const auto gallery = static_cast<std::int64_t>(protocol.gallery.size());
  ASSERT_LT(left, queries);

  const std::vector<std::string> args = {
      "--set", "data.dataset=shoes",       "--set", "data.root=" + data.string(),
      "--set", "data.missing_images=skip", "--set", "train.epochs=1"};
  ASSERT_EQ(run_sweep(sweep, 2, args), 0) << read_log(sweep);
  const auto reader = cir::store::Reader::open(sweep.store());
  ASSERT_EQ(reader.trials().size(), 1u);
  const auto epochs = reader.epochs(reader.trials()[0].spec.id);
  ASSERT_EQ(epochs.size(), 1u);
  ASSERT_EQ(epochs[0].recalls.size(), 2u) << row_text(epochs[0]);
  for (const auto& recall : epochs[0].recalls) {
    EXPECT_EQ(recall.split, "test");
    EXPECT_EQ(recall.queries, left);
    EXPECT_EQ(recall.queries_total, queries);
    EXPECT_EQ(recall.gallery, gallery - 1);
    EXPECT_EQ(recall.gallery_total, gallery);
  }

  // The tiny preset evaluates R@1 and R@5, not the R@10 the default selection needs.
  const auto report = cir::testing::shell(report_program() + " " + sweep.store().string() +
                                          " --select last --no-figures 2>&1");
  EXPECT_EQ(report.code, 0) << report.out;
  EXPECT_NE(
      report.out.find(fmt::format("- Evaluated on {} of {} queries and {} of {} gallery images (test) — "
                                  "data.missing_images = \"skip\" dropped the rest",
                                  left, queries, gallery - 1, gallery)),
      std::string::npos)
      << report.out;
  fs::remove_all(sweep.dir);
}

// The gamma0 synthetic twin (sweeps/synthetic/gamma0.toml, 24 trials, and
// its preset) in a fresh folder. The sweeps are found from the test program,
// which lies in <checkout>/build/bin.
Sweep gamma0_twin(const std::string& folder) {
  namespace fs = std::filesystem;
  const fs::path sweeps =
      fs::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path() / "sweeps" / "synthetic";
  Sweep sweep{fs::path(::testing::TempDir()) / ("cir-trainer-" + folder + "-" + std::to_string(getpid()))};
  fs::remove_all(sweep.dir);
  fs::create_directories(sweep.dir);
  fs::copy_file(sweeps / "gamma0.toml", sweep.spec());
  fs::copy_file(sweeps / "base.toml", sweep.dir / "base.toml");
  return sweep;
}

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST(TrainerOutcomes, AMissingDatasetOrWeightsFileStopsTheSweepBeforeAnyTrialWithOneError) {
  namespace fs = std::filesystem;
  const Sweep sweep = gamma0_twin("preflight");
  const fs::path data = sweep.dir / "shoes";
  std::vector<std::string> args = {"--set", "data.dataset=shoes", "--set", "data.root=" + data.string()};
  ASSERT_EQ(run_sweep(sweep, 2, args), 2) << "exit code 2 = usage or spec error\n" << read_log(sweep);
  std::string log = read_log(sweep);
  EXPECT_EQ(occurrences(log, "error:"), 1u) << log;
  EXPECT_NE(log.find("--set: key 'data.root': the shoes folder " + data.string() +
                     " does not exist (all 24 trials read it); no trial was started"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("`cir-data validate " + data.string() + " --dataset shoes`"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(sweep.dir / "results")) << "neither a store nor checkpoints";

  // A missing weights file as well: both problems, each once.
  const fs::path weights = sweep.dir / "resnet18.safetensors";
  args.insert(args.end(), {"--set", "model.image.weights=" + weights.string()});
  ASSERT_EQ(run_sweep(sweep, 2, args, "weights.log"), 2) << read_log(sweep, "weights.log");
  log = read_log(sweep, "weights.log");
  EXPECT_EQ(occurrences(log, "error:"), 1u) << log;
  EXPECT_NE(log.find("2 problems with what the trials need; no trial was started"), std::string::npos) << log;
  EXPECT_EQ(occurrences(log, "the shoes folder " + data.string() + " does not exist"), 1u) << log;
  EXPECT_EQ(occurrences(log, "key 'model.image.weights': the image weights file " + weights.string() +
                                 " does not exist (all 24 trials read it)"),
            1u)
      << log;
  EXPECT_FALSE(fs::exists(sweep.dir / "results"));

  // With the data there, the same command runs (one trial, one epoch).
  cir::datasets::export_synthetic(*tiny_synthetic(), "shoes", data);
  args.resize(4);
  args.insert(args.end(), {"--set", "loss.gamma0=1", "--set", "sweep.seeds=[0]", "--set", "train.epochs=1"});
  ASSERT_EQ(run_sweep(sweep, 2, args, "data.log"), 0) << read_log(sweep, "data.log");
  const auto reader = cir::store::Reader::open(sweep.dir / "results" / "synthetic_gamma0.h5");
  ASSERT_EQ(reader.trials().size(), 1u);
  EXPECT_EQ(reader.trials()[0].status, cir::TrialStatus::done) << reader.trials()[0].error;
  fs::remove_all(sweep.dir);
}

}  // namespace
