// The reproducibility receipt from what a store records.
#include <gtest/gtest.h>

#include "analysis/receipt.hpp"
#include "tests/analysis/sweeps.hpp"

namespace cir::analysis::testing {
namespace {

class Receipts : public AnalysisTest {};

TEST_F(Receipts, CollectsEveryRunTheTrialsAndWhatIsMissing) {
  std::vector<Planned> trials = gamma0_sweep();
  trials[0].notes_json = R"({"hosts":["n1","n2"],"slurm":{"job_id":"900"}})";
  trials[1].notes_json = R"({"hosts":["n2"]})";
  trials[1].params["train.precision"] = "bf16";
  const std::vector<std::string> runs = {
      R"({"started":1.0,"cir_version":"0.1.0","cir_commit":"abc123","libtorch":"1.13.0","cuda":"none",)"
      R"("mpi":"Open MPI v4.1.4","ranks":2,"slurm_job_id":"901",)"
      R"("weights":{"w/resnet50.safetensors":"aa11"},"datasets":{"data/shoes":"bb22"}})",
      R"({"started":2.0,"cir_version":"0.1.0","cir_commit":"def456","libtorch":"1.13.0","cuda":"12.4",)"
      R"("mpi":"Open MPI v4.1.4","ranks":2,"slurm_job_id":"902","weights":{},"datasets":{}})"};
  const SweepData sweep = load_sweep(write_store(dir_, "gamma0", trials, runs));
  const Receipt r = receipt_of(sweep);
  EXPECT_EQ(r.runs, 2u);
  EXPECT_EQ(r.spec_digest, sweep.header.spec_digest);
  EXPECT_EQ(r.cir_commits, (std::vector<std::string>{"abc123", "def456"}));
  EXPECT_EQ(r.cuda, (std::vector<std::string>{"none", "12.4"}));
  EXPECT_EQ(r.hosts, (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(r.slurm_jobs, (std::vector<std::string>{"901", "902", "900"}));
  EXPECT_EQ(r.precision, (std::vector<std::string>{"fp32", "bf16"}));
  EXPECT_EQ(r.weights.at("w/resnet50.safetensors"), "aa11");
  const std::string md = render_receipt_markdown(r);
  EXPECT_NE(md.find("- spec digest: sha256:" + sweep.header.spec_digest), std::string::npos) << md;
  EXPECT_NE(md.find("- cir commit: abc123; def456"), std::string::npos) << md;
  EXPECT_NE(md.find("- weights: w/resnet50.safetensors sha256:aa11"), std::string::npos) << md;
  EXPECT_NE(md.find("- datasets: data/shoes sha256:bb22"), std::string::npos) << md;
  EXPECT_NE(md.find("- precision: fp32; bf16"), std::string::npos) << md;
  EXPECT_NE(render_receipt_latex(r).find("%   hosts: n1; n2"), std::string::npos);
  EXPECT_NE(render_receipt_csv(r).find("\nMPI,Open MPI v4.1.4\n"), std::string::npos);
}

TEST_F(Receipts, AnOlderStoreSaysWhatItDidNotRecord) {
  const Receipt r = receipt_of(load_sweep(write_store(dir_, "gamma0", gamma0_sweep())));
  EXPECT_EQ(r.runs, 0u);
  EXPECT_EQ(r.cir_versions, std::vector<std::string>{"0.1.0-test"});  // the header's
  const std::string md = render_receipt_markdown(r);
  EXPECT_NE(md.find("- cir commit: not recorded (the store predates run receipts)"), std::string::npos) << md;
  EXPECT_NE(md.find("- precision: fp32"), std::string::npos) << md;
}

}  // namespace
}  // namespace cir::analysis::testing
