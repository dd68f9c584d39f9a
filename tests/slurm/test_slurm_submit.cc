// `mlcp submit` on a real Slurm cluster (slurmctld + slurmd + munge on loopback, started by the
// project's own script): a 4-task job reaches the same checkpoint root as the same job under
// plain mpirun; a job cancelled mid-run and resubmitted resumes and reaches that root too; bad
// submissions fail before anything is queued; mpirun inside an allocation works too.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "tests/common/test_util.h"
#include "tests/runtime/job_files.h"

namespace mlcp::test {
namespace {

class SlurmTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;  // each test then skips (slurmd must run as root)
    state_ = new TempDir("mlcp-slurm");
    const auto r = runCommand(sourceDir() + "/slurm/local-cluster/start.sh " + state_->path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    setenv("SLURM_CONF", (state_->path() + "/slurm.conf").c_str(), 1);
  }
  static void TearDownTestSuite() {
    if (state_ == nullptr) return;
    const auto r = runCommand(sourceDir() + "/slurm/local-cluster/stop.sh " + state_->path());
    EXPECT_EQ(r.exit_code, 0) << r.output;
    delete state_;
    state_ = nullptr;
  }

  void SetUp() override {
    if (state_ == nullptr)
      GTEST_SKIP() << "the local Slurm cluster needs root (slurmd runs as root)";
  }

  // `mlcp submit` and the job id it printed ("" when it failed).
  static std::string submit(const std::string& args, CommandResult* result = nullptr) {
    const auto r = runCommand(mlcpBinary() + " submit " + args);
    if (result != nullptr) *result = r;
    std::smatch m;
    if (r.exit_code == 0 && std::regex_search(r.output, m, std::regex("submitted job ([0-9]+)"))) {
      return m[1];
    }
    ADD_FAILURE() << "mlcp submit " << args << " failed:\n" << r.output;
    return "";
  }

  static std::string state(const std::string& id) {
    const auto r = runCommand(mlcpBinary() + " status " + id);
    std::smatch m;
    return std::regex_search(r.output, m, std::regex("\\): ([A-Z_]+)")) ? std::string(m[1]) : "?";
  }

  // Waits (bounded) until the job has ended; returns its final state.
  static std::string waitForEnd(const std::string& id, double seconds = 300) {
    std::string s;
    waitUntil(seconds, [&] {
      s = state(id);
      return s == "COMPLETED" || s == "FAILED" || s == "CANCELLED" || s == "TIMEOUT" ||
             s == "NODE_FAIL" || s == "OUT_OF_MEMORY";
    });
    return s;
  }

  static std::string rootIn(const std::string& text) {
    std::smatch m;
    return std::regex_search(text, m, std::regex("summary: checkpoint root ([0-9a-f]{64})"))
               ? std::string(m[1])
               : "";
  }

  static TempDir* state_;
};
TempDir* SlurmTest::state_ = nullptr;

std::string checkpointedJob(int steps) {
  return mlpJob("slurm", steps) + "[checkpoint]\nevery = 5\n";
}

TEST_F(SlurmTest, FourTaskJobReachesTheSameRootAsMpirun) {
  TempDir dir;
  writeFile(dir.file("job.toml"), checkpointedJob(20));
  const auto ref = runCommand(mpiexec(4) + " " + mlcpBinary() + " run " + dir.file("job.toml") +
                              " --no-progress --output " + dir.file("mpirun"));
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  const std::string id =
      submit(dir.file("job.toml") + " --tasks-per-node 4 --output " + dir.file("slurm"));
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(waitForEnd(id), "COMPLETED");
  const std::string log = readFile(dir.file("slurm") + "/slurm-" + id + ".out");
  EXPECT_NE(log.find("4 ranks via srun"), std::string::npos) << log;
  ASSERT_FALSE(rootIn(ref.output).empty()) << ref.output;
  EXPECT_EQ(rootIn(log), rootIn(ref.output)) << log;
  // `mlcp logs` shows the same output.
  EXPECT_NE(runCommand(mlcpBinary() + " logs " + id).output.find(rootIn(ref.output)),
            std::string::npos);
}

TEST_F(SlurmTest, CancelledJobResubmittedResumesToTheSameRoot) {
  TempDir dir;
  writeFile(dir.file("job.toml"), checkpointedJob(400));
  const auto ref = runCommand(mlcpBinary() + " run " + dir.file("job.toml") +
                              " --no-progress --output " + dir.file("ref"));
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  const std::string run = dir.file("slurm");
  const std::string first = submit(dir.file("job.toml") + " --tasks-per-node 2 --output " + run);
  ASSERT_FALSE(first.empty());
  // Cancel once a few checkpoints are committed, well before the end.
  ASSERT_TRUE(waitUntil(300, [&] {
    if (std::filesystem::exists(run + "/checkpoints/step-00000020")) return true;
    const std::string s = state(first);
    return s != "RUNNING" && s != "PENDING";
  }));
  ASSERT_EQ(runCommand("scancel " + first).exit_code, 0);
  EXPECT_EQ(waitForEnd(first), "CANCELLED");
  EXPECT_FALSE(std::filesystem::exists(run + "/final_state.bin"))
      << "the job ended before it was cancelled";

  const std::string second = submit(dir.file("job.toml") + " --tasks-per-node 2 --output " + run);
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(waitForEnd(second), "COMPLETED");
  const std::string log = readFile(run + "/slurm-" + second + ".out");
  EXPECT_NE(log.find("resumed from"), std::string::npos) << log;
  EXPECT_EQ(rootIn(log), rootIn(ref.output)) << log;
  EXPECT_EQ(readFile(run + "/final_state.bin"), readFile(dir.file("ref") + "/final_state.bin"));
}

// mpirun inside an allocation (no ssh: Open MPI takes the node list from Slurm) gives the same
// root as the same job launched by srun.
TEST_F(SlurmTest, MpirunInsideAnAllocationMatchesSrun) {
  TempDir dir;
  writeFile(dir.file("job.toml"), checkpointedJob(10));
  const std::string srun_id =
      submit(dir.file("job.toml") + " --tasks-per-node 2 --output " + dir.file("srun"));
  ASSERT_FALSE(srun_id.empty());
  EXPECT_EQ(waitForEnd(srun_id), "COMPLETED");
  const auto r = runCommand("sbatch --parsable -n 2 -o " + dir.file("mpirun.out") + " --wrap '" +
                            mpiexec(2) + " " + mlcpBinary() + " run " + dir.file("job.toml") +
                            " --no-progress --output " + dir.file("mpirun") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string id = r.output.substr(0, r.output.find_first_of(";\n"));
  EXPECT_EQ(waitForEnd(id), "COMPLETED");
  const std::string log = readFile(dir.file("mpirun.out"));
  EXPECT_NE(log.find("2 ranks via mpirun"), std::string::npos) << log;
  EXPECT_FALSE(rootIn(log).empty()) << log;
  EXPECT_EQ(rootIn(log), rootIn(readFile(dir.file("srun") + "/slurm-" + srun_id + ".out")));
}

TEST_F(SlurmTest, BadSubmissionsFailBeforeAnythingIsQueued) {
  TempDir dir;
  writeFile(dir.file("job.toml"), checkpointedJob(5));
  auto r = runCommand(mlcpBinary() + " submit " + dir.file("job.toml") + " --partition nosuch");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("partition 'nosuch' does not exist"), std::string::npos) << r.output;
  // More tasks than the plan allows: the GPT with pp = 2, tp = 2 needs a multiple of 4 ranks.
  r = runCommand(mlcpBinary() + " submit " + sourceDir() +
                 "/jobs/gpt_fortunes_pp2_tp2.toml --tasks-per-node 6");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("divisible by pp*tp"), std::string::npos) << r.output;
  // Nothing was queued (the other tests wait for their jobs to end).
  const auto q = runCommand("squeue -h -o %j");
  EXPECT_EQ(q.exit_code, 0) << q.output;
  EXPECT_EQ(q.output.find("mlcp-"), std::string::npos) << q.output;
}

TEST_F(SlurmTest, DryRunPrintsTheScript) {
  const auto r =
      runCommand(mlcpBinary() + " submit " + sourceDir() +
                 "/jobs/quick_mlp.toml --dry-run --nodes 2 --tasks-per-node 2 --time 00:05:00");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("#SBATCH --nodes=2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("#SBATCH --ntasks-per-node=2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("#SBATCH --time=00:05:00"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("srun --mpi=pmix"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--resume"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace mlcp::test
