// Checkpoints end to end: the same job writes the same checkpoint roots on 1, 2 and 4 ranks; a
// run killed with SIGKILL and resumed ends bitwise equal to an uninterrupted run; a 4-rank run
// replays on 1 process and matches.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/common/test_util.h"
#include "tests/runtime/job_files.h"

namespace mlcp::test {
namespace {

// step -> root of every checkpoint a run recorded (rank 0's metrics).
std::map<int64_t, std::string> checkpointRoots(const std::string& run_dir) {
  std::map<int64_t, std::string> roots;
  std::ifstream in(run_dir + "/metrics/rank-00000.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("kind", "") == "checkpoint") {
      roots[j.at("step").get<int64_t>()] = j.at("root").get<std::string>();
    }
  }
  return roots;
}

std::string checkpointedJob(int steps, int every) {
  return mlpJob("ckpt", steps) + "[checkpoint]\nevery = " + std::to_string(every) + "\n";
}

CommandResult train(const TempDir& dir, int ranks, const std::string& run,
                    const std::string& extra = "") {
  return runCommand(mpiexec(ranks) + " " + mlcpBinary() + " run " + dir.file("job.toml") +
                    " --no-progress --output " + dir.file(run) + " " + extra);
}

class CheckpointTest : public ::testing::Test {
 protected:
  // The job of job.toml on 2 ranks, in the background, writing into run `run`.
  std::unique_ptr<BackgroundProcess> startInBackground(const std::string& run) {
    return std::make_unique<BackgroundProcess>(mpiexec(2) + " " + mlcpBinary() + " run " +
                                                   dir_.file("job.toml") +
                                                   " --no-progress --output " + dir_.file(run),
                                               dir_.file(run + ".log"));
  }
  // Resumes run `run` on 2 ranks and expects the parameters of the uninterrupted run "whole".
  void expectResumeEqualsWhole(const std::string& run) {
    const auto resumed = train(dir_, 2, run, "--resume");
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    EXPECT_NE(resumed.output.find("resumed from"), std::string::npos) << resumed.output;
    EXPECT_EQ(readFile(dir_.file(run) + "/final_state.bin"),
              readFile(dir_.file("whole") + "/final_state.bin"));
  }

  void SetUp() override {
    // A node key of the test's own, so the user's ~/.config is never touched.
    setenv("MLCP_KEY_FILE", dir_.file("node.key").c_str(), 1);
  }
  TempDir dir_;
};

TEST_F(CheckpointTest, RootsAreEqualOn1And2And4Ranks) {
  writeFile(dir_.file("job.toml"), checkpointedJob(12, 4));
  std::map<int, std::map<int64_t, std::string>> roots;
  for (int n : {1, 2, 4}) {
    const auto r = train(dir_, n, "run" + std::to_string(n));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    roots[n] = checkpointRoots(dir_.file("run" + std::to_string(n)));
  }
  ASSERT_EQ(roots[1].size(), 4u) << "checkpoints at steps 0, 4, 8, 12";
  EXPECT_EQ(roots[1], roots[2]);
  EXPECT_EQ(roots[1], roots[4]);
  // Different steps have different roots (the comparison is not vacuous).
  EXPECT_NE(roots[1][4], roots[1][8]);
}

TEST_F(CheckpointTest, ResumeAfterKillIsBitwiseEqualToAnUninterruptedRun) {
  writeFile(dir_.file("job.toml"), checkpointedJob(40, 5));
  const auto whole = train(dir_, 2, "whole");
  ASSERT_EQ(whole.exit_code, 0) << whole.output;

  const std::string run = dir_.file("killed");
  auto job_process = startInBackground("killed");
  BackgroundProcess& job = *job_process;
  // Kill rank 1 once the run has committed the checkpoint of step 15.
  ASSERT_TRUE(waitUntil(180, [&] { return checkpointRoots(run).count(15) == 1; })) << job.log();
  int pid = -1;
  {
    std::ifstream in(run + "/metrics/rank-00001.jsonl");
    std::string line;
    std::getline(in, line);
    pid = nlohmann::json::parse(line).value("pid", -1);
  }
  ASSERT_GT(pid, 0);
  kill(pid, SIGKILL);
  EXPECT_NE(job.waitFor(60), 0) << job.log();

  expectResumeEqualsWhole("killed");
  EXPECT_EQ(checkpointRoots(run)[40], checkpointRoots(dir_.file("whole"))[40]);
}

// SIGUSR1 (Slurm's warning before a time limit; mpirun forwards it to every rank): the ranks
// agree to stop after the same step, write a checkpoint and exit with 3; --resume then ends
// bitwise equal to a run that was never stopped.
TEST_F(CheckpointTest, SignalStopsAfterACheckpointAndResumeIsBitwiseEqual) {
  writeFile(dir_.file("job.toml"), checkpointedJob(400, 50));
  const auto whole = train(dir_, 2, "whole");
  ASSERT_EQ(whole.exit_code, 0) << whole.output;

  const std::string run = dir_.file("stopped");
  auto job_process = startInBackground("stopped");
  BackgroundProcess& job = *job_process;
  // Signal once training is under way (a step record exists), well before the end.
  ASSERT_TRUE(waitUntil(120, [&] {
    std::ifstream in(run + "/metrics/rank-00000.jsonl");
    std::string line;
    int steps = 0;
    while (std::getline(in, line)) steps += line.find("\"kind\":\"step\"") != std::string::npos;
    return steps >= 3;
  })) << job.log();
  ASSERT_EQ(kill(job.pid(), SIGUSR1), 0);
  EXPECT_EQ(job.waitFor(120), 3) << job.log();
  EXPECT_NE(job.log().find("stopped after step"), std::string::npos) << job.log();
  EXPECT_FALSE(std::filesystem::exists(run + "/final_state.bin")) << job.log();

  expectResumeEqualsWhole("stopped");
}

// SGD with momentum keeps a buffer per parameter: a resume must restore it, or the first step
// after the resume moves differently (every other resume test uses AdamW). The CNN job trains
// with SGD, momentum 0.9: stopped after 10 steps and resumed, it must end on the bits of an
// uninterrupted 20-step run.
TEST_F(CheckpointTest, ResumeRestoresSgdMomentum) {
  writeFile(dir_.file("job.toml"), cnnJob("sgd", 20) + "[checkpoint]\nevery = 10\n");
  const auto whole = train(dir_, 1, "whole");
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  const auto half = train(dir_, 1, "halves", "--max-steps 10");
  ASSERT_EQ(half.exit_code, 0) << half.output;
  const auto rest = train(dir_, 2, "halves", "--resume");
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  EXPECT_NE(rest.output.find("resumed from"), std::string::npos) << rest.output;
  EXPECT_EQ(readFile(dir_.file("halves") + "/final_state.bin"),
            readFile(dir_.file("whole") + "/final_state.bin"));
}

// The faulty-solver switch plants a real error in a real run: the parameters change, and a
// 1-process replay of the interval that holds the fault names the exact step; the interval
// before it still matches.
TEST_F(CheckpointTest, PlantedFaultIsLocatedToItsStepByReplay) {
  writeFile(dir_.file("job.toml"), checkpointedJob(12, 4));
  const auto honest = train(dir_, 2, "honest");
  ASSERT_EQ(honest.exit_code, 0) << honest.output;
  const auto faulty = train(dir_, 2, "faulty", "--fault 6:1:1");
  ASSERT_EQ(faulty.exit_code, 0) << faulty.output;
  EXPECT_NE(faulty.output.find("FAULTY SOLVER"), std::string::npos) << faulty.output;
  EXPECT_NE(readFile(dir_.file("faulty") + "/final_state.bin"),
            readFile(dir_.file("honest") + "/final_state.bin"));

  const auto before =
      runCommand(mlcpBinary() + " verify replay " + dir_.file("faulty") + " --from 0 --to 4");
  EXPECT_EQ(before.exit_code, 0) << before.output;
  const auto around =
      runCommand(mlcpBinary() + " verify replay " + dir_.file("faulty") + " --from 4 --to 8");
  EXPECT_NE(around.exit_code, 0) << around.output;
  EXPECT_NE(around.output.find("diverges at step 6"), std::string::npos) << around.output;

  const auto bad = train(dir_, 2, "bad", "--fault 6:99:1");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("LAYER in 0.."), std::string::npos) << bad.output;
}

TEST_F(CheckpointTest, FourRankRunReplaysOnOneProcess) {
  writeFile(dir_.file("job.toml"), checkpointedJob(12, 4));
  ASSERT_EQ(train(dir_, 4, "run").exit_code, 0);
  const auto r =
      runCommand(mlcpBinary() + " verify replay " + dir_.file("run") + " --from 4 --to 12");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("match: steps 4..12"), std::string::npos) << r.output;
}

TEST_F(CheckpointTest, VerifyCheckpointCommandAcceptsAnHonestCheckpoint) {
  writeFile(dir_.file("job.toml"), checkpointedJob(4, 4));
  ASSERT_EQ(train(dir_, 1, "run").exit_code, 0);
  const auto v = runCommand(mlcpBinary() + " verify checkpoint " + dir_.file("run") +
                            "/checkpoints/step-00000004");
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

}  // namespace
}  // namespace mlcp::test
