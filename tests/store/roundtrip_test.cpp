// What a writer puts in a store, a reader gets back, field for field; and
// the writer's rules for epochs, status changes, commits and its lock.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "common/error.hpp"
#include "store/store.hpp"
#include "store_fixture.hpp"
#include "tests/common/distinct_fields.hpp"

namespace cir::store::testing {
namespace {

using RoundTrip = StoreTest;

TEST_F(RoundTrip, ANewStoreIsWrittenAtOnceWithItsHeader) {
  const fs::path path = dir_ / "results" / "demo.h5";
  SweepHeader h = header("[sweep]\nname = \"demo\"\n[grid]\n\"loss.gamma0\" = [1.0, inf]\n");
  h.created = 1700000000.5;
  { Writer writer = Writer::open(path, h); }
  ASSERT_TRUE(fs::exists(path));
  const Reader reader = Reader::open(path);
  EXPECT_EQ(reader.header().sweep, h.sweep);
  EXPECT_EQ(reader.header().spec_text, h.spec_text);
  EXPECT_EQ(reader.header().spec_digest, h.spec_digest);
  EXPECT_EQ(reader.header().cir_version, h.cir_version);
  EXPECT_EQ(reader.header().created, h.created);
  EXPECT_GT(reader.header().updated, h.created);
  EXPECT_TRUE(reader.trials().empty());
}

TEST_F(RoundTrip, TrialsKeepEveryField) {
  const fs::path path = dir_ / "demo.h5";
  std::vector<TrialSpec> specs = {trial(2), trial(0), trial(1)};
  specs[1].swept_keys = {"loss.gamma0", "train.epochs"};
  {
    Writer writer = Writer::open(path, header());
    writer.add_trials(specs);
    writer.set_status(specs[0].id, TrialStatus::running);
    writer.set_status(specs[0].id, TrialStatus::failed, "CUDA out of memory at step 17\nsecond line");
    writer.set_status(specs[1].id, TrialStatus::running);
    writer.set_notes(specs[1].id, R"({"slurm_job":"4242","dropped":[3,9]})");
    writer.flush();
  }
  const Reader reader = Reader::open(path);
  ASSERT_EQ(reader.trials().size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const TrialRow& row = reader.trials()[i];
    const TrialSpec& want = specs[i == 0 ? 1 : i == 1 ? 2 : 0];  // by index
    EXPECT_EQ(row.spec.index, static_cast<std::int64_t>(i));
    EXPECT_EQ(row.spec.id, want.id);
    EXPECT_EQ(row.spec.seed, want.seed);
    EXPECT_EQ(row.spec.params_json, want.params_json);
    EXPECT_EQ(row.spec.swept_keys, want.swept_keys);
    EXPECT_EQ(row.spec.expected_cost, want.expected_cost);
  }
  const TrialRow& failed = reader.trials()[2];
  EXPECT_EQ(failed.status, TrialStatus::failed);
  EXPECT_EQ(failed.attempts, 1);
  EXPECT_GT(failed.started, 0.0);
  EXPECT_GE(failed.finished, failed.started);
  EXPECT_EQ(failed.error, "CUDA out of memory at step 17\nsecond line");
  const TrialRow& running = reader.trials()[0];
  EXPECT_EQ(running.status, TrialStatus::running);
  EXPECT_EQ(running.finished, 0.0);
  EXPECT_EQ(running.notes_json, R"({"slurm_job":"4242","dropped":[3,9]})");
  const TrialRow& pending = reader.trials()[1];
  EXPECT_EQ(pending.status, TrialStatus::pending);
  EXPECT_EQ(pending.attempts, 0);
  EXPECT_EQ(pending.started, 0.0);
  EXPECT_EQ(pending.notes_json, "{}");
}

TEST_F(RoundTrip, StatusChangesCountAttemptsAndKeepErrorsOfFailuresOnly) {
  const fs::path path = dir_ / "demo.h5";
  Writer writer = Writer::open(path, header());
  const TrialSpec t = trial(0);
  writer.add_trials({t});
  writer.set_status(t.id, TrialStatus::running);
  writer.set_status(t.id, TrialStatus::diverged, "loss is nan at epoch 2");
  EXPECT_EQ(writer.trials()[0].error, "loss is nan at epoch 2");
  writer.set_status(t.id, TrialStatus::running);
  EXPECT_EQ(writer.trials()[0].attempts, 2);
  EXPECT_EQ(writer.trials()[0].error, "");
  EXPECT_EQ(writer.trials()[0].finished, 0.0);
  writer.set_status(t.id, TrialStatus::done, "ignored");
  EXPECT_EQ(writer.trials()[0].error, "");
  EXPECT_GT(writer.trials()[0].finished, 0.0);
  writer.flush();
  const Reader reader = Reader::open(path);
  EXPECT_EQ(reader.trials()[0].status, TrialStatus::done);
  EXPECT_EQ(reader.trials()[0].attempts, 2);
}

TEST_F(RoundTrip, EpochsAndRecallsComeBackPerTrialInEpochOrder) {
  const fs::path path = dir_ / "demo.h5";
  const TrialSpec a = trial(0), b = trial(1);
  std::vector<EpochRecord> written_a, written_b;
  {
    Writer writer = Writer::open(path, header());
    writer.add_trials({a, b});
    for (int epoch = 0; epoch < 3; ++epoch) {
      written_a.push_back(record(a.id, epoch, epoch != 1));  // epoch 1 not evaluated
      written_b.push_back(record(b.id, epoch));
      writer.append_epoch(written_b.back());
      writer.append_epoch(written_a.back());
    }
    EXPECT_EQ(writer.trials()[0].epochs_done, 3);
  }
  const Reader reader = Reader::open(path);
  const std::vector<EpochRecord> got_a = reader.epochs(a.id), got_b = reader.epochs(b.id);
  ASSERT_EQ(got_a.size(), 3u);
  ASSERT_EQ(got_b.size(), 3u);
  for (int epoch = 0; epoch < 3; ++epoch) {
    expect_same(got_a[epoch], written_a[epoch]);
    expect_same(got_b[epoch], written_b[epoch]);
  }
  EXPECT_TRUE(got_a[1].recalls.empty());
  EXPECT_EQ(reader.trials()[1].epochs_done, 3);
}

// Through the row builder, the /epochs and /recalls compound types and back,
// for a record whose every field (common/trial.hpp's table) is distinct.
TEST_F(RoundTrip, EveryFieldOfAnEpochRecordComesBack) {
  const fs::path path = dir_ / "demo.h5";
  const TrialSpec a = trial(0);
  auto written = cir::testing::distinct_record<EpochRecord>();
  cir::testing::expect_every_field_filled(written);
  written.trial_id = a.id;
  written.epoch = 1;
  {
    Writer writer = Writer::open(path, header());
    writer.add_trials({a});
    writer.append_epoch(record(a.id, 0));
    writer.append_epoch(written);
  }
  const std::vector<EpochRecord> got = Reader::open(path).epochs(a.id);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], written);
}

TEST_F(RoundTrip, ThousandsOfRowsSurviveReopeningAndAppending) {
  const fs::path path = dir_ / "demo.h5";
  std::vector<TrialSpec> specs;
  for (int i = 0; i < 50; ++i) specs.push_back(trial(i));
  const auto fill = [&](int from, int to) {
    Writer writer = Writer::open(path, header());
    writer.add_trials(specs);
    for (int epoch = from; epoch < to; ++epoch) {
      for (const TrialSpec& spec : specs) writer.append_epoch(record(spec.id, epoch));
    }
  };
  fill(0, 30);   // 1,500 epoch rows, 9,000 recall rows: several chunks
  fill(30, 45);  // a reopened writer adds to them
  const Reader reader = Reader::open(path);
  for (const TrialSpec& spec : specs) {
    const std::vector<EpochRecord> got = reader.epochs(spec.id);
    ASSERT_EQ(got.size(), 45u);
    for (int epoch = 0; epoch < 45; ++epoch) expect_same(got[epoch], record(spec.id, epoch));
  }
}

TEST_F(RoundTrip, TruncateDropsLaterEpochsAndAnEarlierEpochReplacesThem) {
  const fs::path path = dir_ / "demo.h5";
  const TrialSpec a = trial(0), b = trial(1);
  Writer writer = Writer::open(path, header());
  writer.add_trials({a, b});
  for (int epoch = 0; epoch < 5; ++epoch) {
    writer.append_epoch(record(a.id, epoch));
    writer.append_epoch(record(b.id, epoch));
  }
  writer.truncate(a.id, 3);
  EXPECT_EQ(writer.trials()[0].epochs_done, 3);
  EpochRecord again = record(b.id, 2);
  again.loss_total = -1.0;
  writer.append_epoch(again);
  EXPECT_EQ(writer.trials()[1].epochs_done, 3);
  writer.flush();
  const Reader reader = Reader::open(path);
  ASSERT_EQ(reader.epochs(a.id).size(), 3u);
  const std::vector<EpochRecord> got_b = reader.epochs(b.id);
  ASSERT_EQ(got_b.size(), 3u);
  expect_same(got_b[1], record(b.id, 1));
  expect_same(got_b[2], again);
  EXPECT_EQ(reader.trials()[0].epochs_done, 3);
}

TEST_F(RoundTrip, ARetryKeepsTheEarlierAttemptsRowsMarkedThroughReopenAndTruncate) {
  const fs::path path = dir_ / "demo.h5";
  const TrialSpec a = trial(0), b = trial(1);
  EpochRecord second = record(a.id, 0);
  second.loss_total = -2.0;
  {
    Writer writer = Writer::open(path, header());
    writer.add_trials({a, b});
    writer.set_status(a.id, TrialStatus::running);
    for (int epoch = 0; epoch < 3; ++epoch) writer.append_epoch(record(a.id, epoch));
    EXPECT_THROW(writer.retry(a.id), Error) << "a running trial was retried";
    writer.set_status(a.id, TrialStatus::failed, "out of memory");
    writer.retry(a.id);
    EXPECT_EQ(writer.trials()[0].status, TrialStatus::pending);
    EXPECT_EQ(writer.trials()[0].retries, 1);
    EXPECT_EQ(writer.trials()[0].epochs_done, 0);
    EXPECT_EQ(writer.trials()[0].error, "");
    writer.flush();  // a journal frame
    writer.set_status(a.id, TrialStatus::running);
    writer.append_epoch(second);
  }
  Writer writer = Writer::open(path, header());
  writer.add_trials({a, b});
  writer.append_epoch(record(a.id, 1));
  writer.truncate(a.id, 1);  // drops the current attempt's epoch 1, not the first attempt's
  writer.flush();
  const Reader reader = Reader::open(path);
  const TrialRow& row = reader.trials()[0];
  EXPECT_EQ(row.retries, 1);
  EXPECT_EQ(row.epochs_done, 1);
  EXPECT_NE(row.notes_json.find(
                R"("attempts":[{"attempt":0,"epochs":3,"error":"out of memory","status":"failed"}])"),
            std::string::npos)
      << row.notes_json;
  const std::vector<EpochRecord> current = reader.epochs(a.id);
  ASSERT_EQ(current.size(), 1u);
  expect_same(current[0], second);
  EXPECT_EQ(reader.epochs(a.id, 1), current);
  const std::vector<EpochRecord> first = reader.epochs(a.id, 0);
  ASSERT_EQ(first.size(), 3u);
  for (int epoch = 0; epoch < 3; ++epoch) expect_same(first[epoch], record(a.id, epoch));
  EXPECT_EQ(reader.select_epoch(a.id, "last")->loss_total, -2.0) << "select_epoch reads the current attempt";
  EXPECT_TRUE(reader.epochs(a.id, 2).empty());
  EXPECT_TRUE(reader.epochs(b.id).empty());
}

TEST_F(RoundTrip, AGapInEpochsOrAnUnknownTrialIsAnError) {
  Writer writer = Writer::open(dir_ / "demo.h5", header());
  const TrialSpec a = trial(0);
  writer.add_trials({a});
  writer.append_epoch(record(a.id, 0));
  try {
    writer.append_epoch(record(a.id, 2));
    FAIL() << "a gap was accepted";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("epoch 2"), std::string::npos) << error.what();
    EXPECT_EQ(error.where().trial, a.id);
  }
  EXPECT_THROW(writer.append_epoch(record("0123456789abcdef", 0)), Error);
  EXPECT_THROW(writer.set_status("nope", TrialStatus::running), Error);
}

TEST_F(RoundTrip, ReopeningKeepsTrialsStatusAndRows) {
  const fs::path path = dir_ / "demo.h5";
  const TrialSpec a = trial(0), b = trial(1);
  {
    Writer writer = Writer::open(path, header());
    writer.add_trials({a, b});
    writer.set_status(a.id, TrialStatus::running);
    writer.append_epoch(record(a.id, 0));
    writer.set_status(a.id, TrialStatus::done);
  }
  Writer writer = Writer::open(path, header());
  writer.add_trials({a, b, trial(2)});
  ASSERT_EQ(writer.trials().size(), 3u);
  EXPECT_EQ(writer.trials()[0].status, TrialStatus::done);
  EXPECT_EQ(writer.trials()[0].attempts, 1);
  EXPECT_EQ(writer.trials()[0].epochs_done, 1);
  EXPECT_EQ(writer.trials()[2].status, TrialStatus::pending);
}

TEST_F(RoundTrip, CommitsWithinASecondCoalesceAndFlushWritesThem) {
  const fs::path path = dir_ / "demo.h5";
  Writer writer = Writer::open(path, header());
  const TrialSpec a = trial(0);
  writer.add_trials({a});
  EXPECT_FALSE(writer.commit()) << "the store was written at open less than a second ago";
  EXPECT_TRUE(Reader::open(path).trials().empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_TRUE(writer.commit());
  EXPECT_EQ(Reader::open(path).trials().size(), 1u);
  writer.append_epoch(record(a.id, 0));
  EXPECT_FALSE(writer.commit());
  writer.append_epoch(record(a.id, 1));
  EXPECT_FALSE(writer.commit());
  EXPECT_TRUE(Reader::open(path).epochs(a.id).empty());
  writer.flush();
  EXPECT_EQ(Reader::open(path).epochs(a.id).size(), 2u);
  EXPECT_FALSE(writer.commit()) << "nothing changed since the flush";
}

TEST_F(RoundTrip, ClosingAWriterWritesWhatIsPending) {
  const fs::path path = dir_ / "demo.h5";
  const TrialSpec a = trial(0);
  {
    Writer writer = Writer::open(path, header());
    writer.add_trials({a});
    writer.append_epoch(record(a.id, 0));
    EXPECT_FALSE(writer.commit());
  }
  EXPECT_EQ(Reader::open(path).epochs(a.id).size(), 1u);
}

TEST_F(RoundTrip, ASecondWriterIsRefusedWithTheFirstOnesPid) {
  const fs::path path = dir_ / "demo.h5";
  {
    Writer first = Writer::open(path, header());
    try {
      Writer second = Writer::open(path, header());
      FAIL() << "two writers opened one store";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ExitCode::store_refused);
      EXPECT_NE(std::string(error.what()).find("pid " + std::to_string(getpid())), std::string::npos)
          << error.what();
    }
    EXPECT_NO_THROW(Reader::open(path)) << "readers need no lock";
  }
  EXPECT_FALSE(fs::exists(path.string() + ".lock"));
  EXPECT_NO_THROW(Writer::open(path, header()));
}

TEST_F(RoundTrip, ALeftoverTemporaryFileIsIgnoredAndCleaned) {
  const fs::path path = dir_ / "demo.h5";
  { Writer writer = Writer::open(path, header()); }
  std::ofstream(path.string() + ".tmp") << "half a store";
  EXPECT_NO_THROW(Reader::open(path));
  { Writer writer = Writer::open(path, header()); }
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
}

TEST_F(RoundTrip, SelectEpochPicksTheBestByEachRule) {
  const fs::path path = dir_ / "demo.h5";
  const TrialSpec a = trial(0), b = trial(1);
  {
    Writer writer = Writer::open(path, header());
    writer.add_trials({a, b});
    const auto with = [&](int epoch, double r1, double r10, double r50) {
      EpochRecord r = record(a.id, epoch, false);
      for (const char* split : {"dress", "shirt"}) {
        r.recalls.push_back({split, 1, r1});
        r.recalls.push_back({split, 10, r10});
        r.recalls.push_back({split, 50, r50});
      }
      r.recalls[0].value -= 1.0;  // the two splits differ: rules use their mean
      r.recalls[3].value += 1.0;
      return r;
    };
    writer.append_epoch(with(0, 9.0, 30.0, 60.0));
    writer.append_epoch(with(1, 12.0, 35.0, 50.0));
    writer.append_epoch(with(2, 11.0, 33.0, 58.0));
    writer.append_epoch(with(3, 10.0, 35.0, 52.0));  // ties epoch 1 at R@10: the first wins
    writer.append_epoch(record(a.id, 4, false));     // not evaluated
  }
  const Reader reader = Reader::open(path);
  EXPECT_EQ(reader.select_epoch(a.id, "r1")->epoch, 1);
  EXPECT_EQ(reader.select_epoch(a.id, "r10")->epoch, 1);
  EXPECT_EQ(reader.select_epoch(a.id, "r50")->epoch, 0);
  EXPECT_EQ(reader.select_epoch(a.id, "avg")->epoch, 2);  // (33 + 58) / 2 = 45.5
  EXPECT_EQ(reader.select_epoch(a.id, "last")->epoch, 4);
  EXPECT_EQ(reader.select_epoch(a.id, "r10")->recalls.size(), 6u);
  EXPECT_FALSE(reader.select_epoch(a.id, "r5").has_value());
  EXPECT_FALSE(reader.select_epoch(b.id, "last").has_value());
  EXPECT_THROW(reader.select_epoch(a.id, "best"), Error);
  EXPECT_THROW(reader.select_epoch("0000000000000000", "last"), Error);
}

TEST_F(RoundTrip, TheResumeViewListsFinishedTrialsAndWhereOthersContinue) {
  const fs::path path = dir_ / "demo.h5";
  std::vector<TrialSpec> specs;
  for (int i = 0; i < 5; ++i) specs.push_back(trial(i));
  {
    Writer writer = Writer::open(path, header());
    writer.add_trials(specs);
    for (int i = 0; i < 4; ++i) writer.set_status(specs[i].id, TrialStatus::running);
    for (int epoch = 0; epoch < 3; ++epoch) writer.append_epoch(record(specs[0].id, epoch));
    writer.set_status(specs[0].id, TrialStatus::done);
    writer.append_epoch(record(specs[1].id, 0));
    writer.set_status(specs[1].id, TrialStatus::failed, "boom");
    writer.set_status(specs[2].id, TrialStatus::diverged, "nan");
    for (int epoch = 0; epoch < 2; ++epoch) writer.append_epoch(record(specs[3].id, epoch));
  }
  const ResumeView view = Reader::open(path).resume_view();
  EXPECT_EQ(view.done, (std::vector<std::string>{specs[0].id, specs[1].id, specs[2].id}));
  EXPECT_EQ(view.continue_from, (std::map<std::string, std::int32_t>{{specs[3].id, 2}, {specs[4].id, 0}}));
}

}  // namespace
}  // namespace cir::store::testing
