// Dispute bisection end to end (issue #4): two real 2-rank runs of the same job, one with a
// planted fault, are bisected by `mlcp verify dispute` over checkpoints, steps and operators to
// the exact step and operator, in at most ceil(log2) rounds per phase, and the referee blames
// the faulty run — whichever side it is on — and never the honest one.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "tests/common/test_util.h"
#include "tests/runtime/job_files.h"

namespace mlcp::test {
namespace {

int64_t ceilLog2(int64_t n) {
  int64_t r = 0;
  while ((int64_t{1} << r) < n) ++r;
  return r;
}

class DisputeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("mlcp-dispute");
    setenv("MLCP_KEY_FILE", dir_->file("node.key").c_str(), 1);
    // 16 steps, checkpoints at 0, 4, 8, 12, 16; 7 micro-batches, so on 2 ranks rank 1 runs
    // micro-batches 4..6 and `--fault 6:1:1` corrupts layer 1's output of micro-batch 4.
    writeFile(dir_->file("job.toml"), mlpJob("dispute", 16) + "[checkpoint]\nevery = 4\n");
    for (const auto& [run, extra] :
         {std::pair{"honest", ""}, std::pair{"faulty", "--fault 6:1:1"}}) {
      const auto r = runCommand(mpiexec(2) + " " + mlcpBinary() + " run " + dir_->file("job.toml") +
                                " --no-progress --output " + dir_->file(run) + " " + extra);
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
  }
  static void TearDownTestSuite() { delete dir_; }

  static nlohmann::json dispute(const std::string& a, const std::string& b,
                                const std::string& out) {
    const auto r = runCommand(mlcpBinary() + " verify dispute " + dir_->file(a) + " " +
                              dir_->file(b) + " --json --out " + dir_->file(out));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    const auto brace = r.output.find('{');
    if (brace == std::string::npos) return {};
    return nlohmann::json::parse(r.output.substr(brace));
  }

  // The located step and operator, the round bounds and the claims file.
  static void expectLocated(const nlohmann::json& o, const std::string& out) {
    ASSERT_TRUE(o.at("disputed").get<bool>());
    EXPECT_EQ(o.at("agreed_checkpoint"), 4);
    EXPECT_EQ(o.at("disputed_checkpoint"), 8);
    EXPECT_EQ(o.at("step"), 6);
    EXPECT_EQ(o.at("operator"), "mb4/forward/1");
    // At most ceil(log2(length)) rounds in each phase, and every round is recorded.
    EXPECT_EQ(o.at("checkpoint_span"), 4);
    EXPECT_EQ(o.at("step_span"), 4);
    EXPECT_LE(o.at("checkpoint_rounds").get<int64_t>(), ceilLog2(4));
    EXPECT_LE(o.at("step_rounds").get<int64_t>(), ceilLog2(4));
    EXPECT_LE(o.at("operator_rounds").get<int64_t>(),
              ceilLog2(o.at("operator_count").get<int64_t>()));
    EXPECT_GT(o.at("operator_count").get<int64_t>(), 40);  // 7 micro-batches x 8 operators + more
    const auto rounds = o.at("checkpoint_rounds").get<size_t>() +
                        o.at("step_rounds").get<size_t>() + o.at("operator_rounds").get<size_t>();
    EXPECT_EQ(o.at("rounds").size(), rounds);
    // The claims file: two claims per round and the verdict, each a JSON message.
    const auto lines = splitLines(readFile(dir_->file(out) + "/claims.jsonl"));
    ASSERT_EQ(lines.size(), 2 * rounds + 1);
    const auto verdict = nlohmann::json::parse(lines.back());
    EXPECT_EQ(verdict.at("type"), "verdict");
    EXPECT_EQ(verdict.at("operator"), "mb4/forward/1");
  }

  static TempDir* dir_;
};
TempDir* DisputeTest::dir_ = nullptr;

TEST_F(DisputeTest, FaultInRunBIsLocatedAndBlamedOnB) {
  const auto o = dispute("honest", "faulty", "d1");
  expectLocated(o, "d1");
  EXPECT_EQ(o.at("wrong"), "B");
  EXPECT_EQ(o.at("referee"), o.at("claim_a")) << "the referee agrees with the honest party";
  EXPECT_NE(o.at("referee"), o.at("claim_b"));
}

TEST_F(DisputeTest, FaultInRunAIsLocatedAndBlamedOnA) {
  const auto o = dispute("faulty", "honest", "d2");
  expectLocated(o, "d2");
  EXPECT_EQ(o.at("wrong"), "A");
  EXPECT_EQ(o.at("referee"), o.at("claim_b"));
}

TEST_F(DisputeTest, RunsOfTheSameJobOnOtherPlacementsHaveNothingToDispute) {
  const auto r = runCommand(mlcpBinary() + " run " + dir_->file("job.toml") +
                            " --no-progress --output " + dir_->file("one-rank"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto o = dispute("honest", "one-rank", "d3");
  EXPECT_FALSE(o.at("disputed").get<bool>());
  EXPECT_EQ(o.at("wrong"), "");
}

TEST_F(DisputeTest, RunsOfDifferentJobsAreRefusedWithAReason) {
  writeFile(dir_->file("other.toml"), mlpJob("other", 4) + "[checkpoint]\nevery = 4\n");
  const auto r = runCommand(mlcpBinary() + " run " + dir_->file("other.toml") +
                            " --no-progress --output " + dir_->file("other"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto d = runCommand(mlcpBinary() + " verify dispute " + dir_->file("honest") + " " +
                            dir_->file("other"));
  EXPECT_EQ(d.exit_code, 2) << d.output;
  EXPECT_NE(d.output.find("not runs of the same job"), std::string::npos) << d.output;
  const auto missing = runCommand(mlcpBinary() + " verify dispute " + dir_->file("honest") + " " +
                                  dir_->file("nowhere"));
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("is not a run directory"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace mlcp::test
