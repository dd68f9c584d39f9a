// Bad input and dead peers end a job with one clear sentence and a non-zero exit, never a hang:
// a malformed job file, a missing data set, a rank killed with SIGKILL, a rank that stops
// answering (collective timeout).
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/common/test_util.h"
#include "tests/runtime/job_files.h"

namespace mlcp::test {
namespace {

size_t countOf(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

TEST(JobFailures, MalformedTomlIsRejectedWithFileAndLineOnRankZeroOnly) {
  TempDir dir;
  writeFile(dir.file("bad.toml"), "[job]\nname = \"x\"\nseed = = 3\n");
  const auto r = runCommand(mpiexec(4) + " " + mlcpBinary() + " run " + dir.file("bad.toml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("bad.toml:3"), std::string::npos) << r.output;
  EXPECT_EQ(countOf(r.output, "mlcp: error"), 1u) << r.output;
}

TEST(JobFailures, MissingDatasetIsRejectedBeforeWork) {
  TempDir dir;
  std::string job = mlpJob("x", 3);
  job.replace(job.find("/usr/share/datasets/fashion-mnist"), 33, dir.file("nowhere"));
  writeFile(dir.file("job.toml"), job);
  const auto r = runCommand(mpiexec(2) + " " + mlcpBinary() + " run " + dir.file("job.toml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("nowhere"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("step"), std::string::npos) << "training started:\n" << r.output;
}

TEST(JobFailures, ValidateReportsTheSameErrors) {
  TempDir dir;
  std::string job = mlpJob("x", 3);
  job.replace(job.find("global_batch = 126"), 18, "global_batch = 125");
  writeFile(dir.file("job.toml"), job);
  const auto r = runCommand(mlcpBinary() + " validate " + dir.file("job.toml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("global_batch"), std::string::npos) << r.output;
  EXPECT_EQ(
      runCommand(mlcpBinary() + " validate " + sourceDir() + "/jobs/quick_mlp.toml").exit_code, 0);
}

// Starts a long 4-rank run in the background, waits until rank `victim` has trained a step, and
// returns that rank's pid (read from its metrics file).
int startAndFindRank(BackgroundProcess& job, const std::string& run_dir, int victim) {
  const std::string metrics = run_dir + "/metrics/rank-0000" + std::to_string(victim) + ".jsonl";
  int pid = -1;
  const bool started = waitUntil(120, [&] {
    std::ifstream in(metrics);
    std::string line;
    bool stepped = false;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) continue;
      if (j.value("kind", "") == "start") pid = j.value("pid", -1);
      if (j.value("kind", "") == "step") stepped = true;
    }
    return stepped && pid > 0;
  });
  EXPECT_TRUE(started) << "rank " << victim << " never trained a step:\n" << job.log();
  return started ? pid : -1;
}

TEST(JobFailures, KilledRankEndsTheJobWithoutAHang) {
  TempDir dir;
  writeFile(dir.file("job.toml"), mlpJob("long", 100000));
  const std::string out = dir.file("run");
  BackgroundProcess job(mpiexec(4) + " " + mlcpBinary() + " run " + dir.file("job.toml") +
                            " --no-progress --output " + out,
                        dir.file("log"));
  const int pid = startAndFindRank(job, out, 2);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  const int code = job.waitFor(60);
  EXPECT_NE(code, -1) << "the job still runs 60 s after a rank was killed:\n" << job.log();
  EXPECT_NE(code, 0) << job.log();
  // mpiexec names the first process it saw die: usually the killed rank ("exited on signal 9"),
  // sometimes a peer whose UCX transport aborted on the dead rank first ("... signal 6").
  EXPECT_NE(job.log().find("exited on signal"), std::string::npos) << job.log();
}

TEST(JobFailures, StalledRankTimesOutTheCollective) {
  TempDir dir;
  std::string text = mlpJob("stall", 100000);
  text += "collective_timeout_s = 3\n";
  writeFile(dir.file("job.toml"), text);
  const std::string out = dir.file("run");
  BackgroundProcess job(mpiexec(4) + " " + mlcpBinary() + " run " + dir.file("job.toml") +
                            " --no-progress --output " + out,
                        dir.file("log"));
  const int pid = startAndFindRank(job, out, 1);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);  // alive but silent: only a timeout can end this
  const int code = job.waitFor(60);
  kill(pid, SIGKILL);
  EXPECT_NE(code, -1) << "no timeout within 60 s:\n" << job.log();
  EXPECT_NE(code, 0) << job.log();
  EXPECT_NE(job.log().find("did not complete within"), std::string::npos) << job.log();
}

}  // namespace
}  // namespace mlcp::test
