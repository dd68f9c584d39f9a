// Faults as a matrix, each ending in a verdict on data. A real `mlcp run` (quick_mlp: 20 steps,
// checkpoints at 0, 10 and 20) is stopped at each phase of checkpoint 10 — the snapshot, the
// shard write, the manifest, the rename (base/pause_point.h) — and then, at that moment, the real
// operating system's fault happens to it:
//   kill -9          resume ends bit for bit where an uninterrupted run ends;
//   disk full        one clear error naming the reason, the previous checkpoint valid, and after
//                    space is freed, resume ends bit for bit where the uninterrupted run ends;
//   read-only disk   the same, after the file system is made writable again.
// The disk faults use a tmpfs the test mounts (root); where mounting is not allowed they skip
// with the reason.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/common/test_util.h"
#include "verify/checkpoint.h"

namespace mlcp::test {
namespace {

namespace fs = std::filesystem;

const char* kPoints[] = {"checkpoint.snapshot", "checkpoint.shard", "checkpoint.manifest",
                         "checkpoint.rename"};

// Whether process `pid` is stopped (state T in /proc/PID/stat).
bool isStopped(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'T';
}

class FaultMatrix : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    setenv("MLCP_KEY_FILE", dir_.file("node.key").c_str(), 1);
    job_ = sourceDir() + "/jobs/quick_mlp.toml";
    const auto whole =
        runCommand(mlcpBinary() + " run " + job_ + " --no-progress --output " + dir_.file("whole"));
    ASSERT_EQ(whole.exit_code, 0) << whole.output;
  }

  // Starts the job into `out`, paused at the current point of checkpoint 10 (its second pass).
  std::unique_ptr<BackgroundProcess> startPaused(const std::string& out) {
    setenv("MLCP_PAUSE_AT", (std::string(GetParam()) + "@2").c_str(), 1);
    // The log stays off the disk under test (an open writer would keep it from going read-only).
    auto job = std::make_unique<BackgroundProcess>(
        mlcpBinary() + " run " + job_ + " --no-progress --output " + out,
        dir_.file(fs::path(out).filename().string() + ".log"));
    unsetenv("MLCP_PAUSE_AT");
    const int pid = job->pid();
    EXPECT_TRUE(waitUntil(120, [&] { return isStopped(pid) || !job->running(); }))
        << "never reached " << GetParam() << ":\n"
        << job->log();
    EXPECT_TRUE(isStopped(pid)) << "ended before " << GetParam() << ":\n" << job->log();
    return job;
  }

  // The newest checkpoint a resume would start from is 10 after the rename, else 0.
  int64_t expectedSurvivor() const {
    return std::string(GetParam()) == "checkpoint.rename" ? 10 : 0;
  }

  void expectResumeEqualsWhole(const std::string& out) {
    const auto resumed =
        runCommand(mlcpBinary() + " run " + job_ + " --no-progress --resume --output " + out);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    EXPECT_EQ(readFile(out + "/final_state.bin"),
              readFile(dir_.file("whole") + "/final_state.bin"));
  }

  TempDir dir_;
  std::string job_;
};

TEST_P(FaultMatrix, KillAtThisPhaseThenResumeIsBitwiseEqual) {
  const std::string out = dir_.file("killed");
  auto job = startPaused(out);
  ASSERT_EQ(kill(job->pid(), SIGKILL), 0);
  job->waitFor(30);
  const auto survivor = verify::latestValidCheckpoint(out);
  ASSERT_TRUE(survivor.checkpoint.has_value());
  EXPECT_EQ(survivor.checkpoint->step, expectedSurvivor());
  expectResumeEqualsWhole(out);
}

TEST_P(FaultMatrix, FullDiskAtThisPhaseIsAClearErrorAndLosesNothing) {
  const std::string mnt = dir_.file("disk");
  const ScopedTmpfs disk(mnt, "8m");
  if (!disk.ok()) GTEST_SKIP() << disk.why();
  const std::string out = mnt + "/run";
  auto job = startPaused(out);
  // Fill what is left of the disk.
  {
    std::ofstream filler(mnt + "/filler", std::ios::binary);
    const std::string block(1 << 16, '\0');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
  }
  ASSERT_EQ(kill(job->pid(), SIGCONT), 0);
  const int rc = job->waitFor(120);
  const std::string log = job->log();
  if (std::string(GetParam()) == "checkpoint.rename") {
    // Checkpoint 10 is committed; the run fails at its next write, or finishes if nothing more
    // had to be written — either way with a clear line and no crash.
    EXPECT_TRUE(rc == 0 || rc == 1) << log;
  } else {
    EXPECT_EQ(rc, 1) << log;
  }
  if (rc != 0) {
    EXPECT_NE(log.find("No space left on device"), std::string::npos) << log;
  }
  EXPECT_EQ(log.find("Segmentation fault"), std::string::npos) << log;
  const auto survivor = verify::latestValidCheckpoint(out);
  ASSERT_TRUE(survivor.checkpoint.has_value()) << log;
  EXPECT_GE(survivor.checkpoint->step, expectedSurvivor()) << log;
  fs::remove(mnt + "/filler");
  fs::remove(out + "/final_state.bin");
  expectResumeEqualsWhole(out);
}

TEST_P(FaultMatrix, ReadOnlyDiskAtThisPhaseIsAClearErrorAndLosesNothing) {
  const std::string mnt = dir_.file("disk");
  const ScopedTmpfs disk(mnt, "64m");
  if (!disk.ok()) GTEST_SKIP() << disk.why();
  const std::string out = mnt + "/run";
  auto job = startPaused(out);
  // Read-only needs no file open for writing on it: the run opens its metrics file only for an
  // append, so when the stop lands inside one, let it run a moment and stop it again.
  bool read_only = false;
  for (int attempt = 0; attempt < 50 && !read_only; ++attempt) {
    read_only = ::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) == 0;
    if (read_only || errno != EBUSY) break;
    kill(job->pid(), SIGCONT);
    kill(job->pid(), SIGSTOP);
    waitUntil(5, [&] { return isStopped(job->pid()); });
  }
  ASSERT_TRUE(read_only) << "cannot make the disk read-only: " << std::strerror(errno);
  ASSERT_EQ(kill(job->pid(), SIGCONT), 0);
  const int rc = job->waitFor(120);
  const std::string log = job->log();
  EXPECT_EQ(rc, 1) << log;
  EXPECT_NE(log.find("Read-only file system"), std::string::npos) << log;
  EXPECT_EQ(log.find("Segmentation fault"), std::string::npos) << log;
  const auto survivor = verify::latestValidCheckpoint(out);
  ASSERT_TRUE(survivor.checkpoint.has_value()) << log;
  EXPECT_GE(survivor.checkpoint->step, expectedSurvivor()) << log;
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT, nullptr), 0) << std::strerror(errno);
  fs::remove(out + "/final_state.bin");
  expectResumeEqualsWhole(out);
}

INSTANTIATE_TEST_SUITE_P(Phases, FaultMatrix, ::testing::ValuesIn(kPoints), [](const auto& info) {
  std::string name = info.param;
  return name.substr(name.find('.') + 1);
});

}  // namespace
}  // namespace mlcp::test
