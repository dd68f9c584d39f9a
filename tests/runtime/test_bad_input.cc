// Nothing lost, nothing let in: each defect a new user found (issue 14) as a regression test on
// the real binary — resuming another job's or a forged checkpoint, a full disk during a
// checkpoint, a model too large to allocate, step counts that overflow, a dispute over a corrupt
// checkpoint, SIGTERM through mpirun, progress written to a file under mpirun, key files that
// `validate` accepted and `run` refused, and the messages that named too little.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/common/test_util.h"
#include "tests/runtime/job_files.h"
#include "verify/checkpoint.h"
#include "verify/node_key.h"

namespace mlcp::test {
namespace {

namespace fs = std::filesystem;

size_t countOf(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    // A node key of the test's own, so the user's ~/.config is never touched.
    setenv("MLCP_KEY_FILE", dir_.file("node.key").c_str(), 1);
  }
  CommandResult mlcp(const std::string& args) { return runCommand(mlcpBinary() + " " + args); }
  CommandResult run(const std::string& job, const std::string& out, const std::string& extra = "") {
    return mlcp("run " + job + " --no-progress --output " + out + " " + extra);
  }
  // quick_mlp's job file (20 steps, a checkpoint every 10) written into the test's folder.
  std::string quickJob(const std::string& name = "q.toml", const std::string& lr = "3e-3") {
    std::string job = readFile(sourceDir() + "/jobs/quick_mlp.toml");
    job.replace(job.find("lr = 3e-3"), 9, "lr = " + lr);
    writeFile(dir_.file(name), job);
    return dir_.file(name);
  }
  TempDir dir_;
};

// 1. `--resume` with an edited job refuses the run's checkpoints (they are another program's)
// and changes nothing in the run directory.
TEST_F(BadInput, ResumeRefusesACheckpointOfAnotherJob) {
  const auto first = run(quickJob(), dir_.file("r"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  fs::remove_all(verify::checkpointDir(dir_.file("r"), 20));
  const auto listing = verify::listCheckpoints(dir_.file("r"));
  const auto edited = run(quickJob("q2.toml", "5e-2"), dir_.file("r"), "--resume");
  EXPECT_EQ(edited.exit_code, 2) << edited.output;
  EXPECT_NE(edited.output.find("is of another job"), std::string::npos) << edited.output;
  EXPECT_NE(edited.output.find("optimizer.lr = 0.003 there, 0.05 here"), std::string::npos)
      << edited.output;
  EXPECT_EQ(verify::listCheckpoints(dir_.file("r")).size(), listing.size())
      << "checkpoints changed";
  // A fresh run of the edited job into the same folder is refused too: no mixing of programs.
  const auto fresh = run(dir_.file("q2.toml"), dir_.file("r"));
  EXPECT_EQ(fresh.exit_code, 2) << fresh.output;
  EXPECT_NE(fresh.output.find("is of another job"), std::string::npos) << fresh.output;
}

// 1. A checkpoint with altered parameters, re-signed with a fresh key, is not resumed from: it is
// skipped with a note naming both keys, and the run continues from the newest checkpoint of its
// own key — ending bit for bit where an uninterrupted run ends.
TEST_F(BadInput, ResumeSkipsACheckpointSignedByAnotherKey) {
  const auto whole = run(quickJob(), dir_.file("whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  const auto r = run(dir_.file("q.toml"), dir_.file("r"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Forge step 20: its tensors with one parameter changed, committed under a fresh key.
  const std::string step20 = verify::checkpointDir(dir_.file("r"), 20);
  auto reader = verify::CheckpointReader::open(step20);
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<verify::TensorView> views;
  for (const auto& name : reader.names()) {
    auto t = reader.read(name);
    bytes.push_back(t.bytes);
    if (name.rfind("params/", 0) == 0 && bytes.back().size() >= 4) bytes.back()[0] ^= 0x40;
  }
  size_t i = 0;
  for (const auto& name : reader.names()) {
    const auto& e = reader.entry(name);
    views.push_back({name, e.dtype, e.shape, bytes[i].data(), bytes[i].size()});
    ++i;
  }
  const auto manifest = reader.manifest();
  fs::remove_all(step20);
  const std::string tmp = verify::beginCheckpoint(dir_.file("r"), 20);
  auto entries = verify::writeShard(tmp, 0, views);
  verify::commitCheckpoint(dir_.file("r"), 20, entries, manifest.job_spec_text, manifest.plan_text,
                           verify::KeyPair::generate(),
                           {manifest.job_path, manifest.data_hash, manifest.ops});
  fs::remove(dir_.file("r") + "/final_state.bin");
  const auto resumed = run(dir_.file("q.toml"), dir_.file("r"), "--resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("but the expected signer is"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed from " + verify::checkpointDir(dir_.file("r"), 10)),
            std::string::npos)
      << resumed.output;
  EXPECT_EQ(readFile(dir_.file("r") + "/final_state.bin"),
            readFile(dir_.file("whole") + "/final_state.bin"));
}

// 2. A full disk during a checkpoint: one clear message with the system's reason first, exit 1
// (no segmentation fault at exit), the earlier checkpoints intact.
TEST_F(BadInput, FullDiskDuringACheckpointIsOneMessageAndLosesNothing) {
  const std::string mnt = dir_.file("small");
  const ScopedTmpfs disk(mnt, "1m");
  if (!disk.ok()) GTEST_SKIP() << disk.why();
  const auto r = run(sourceDir() + "/jobs/quick_mlp.toml", mnt + "/run");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("No space left on device (HDF5"), std::string::npos) << r.output;
  EXPECT_EQ(countOf(r.output, "No space left on device"), 1u) << r.output;
  EXPECT_EQ(r.output.find("Segmentation fault"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("backtrace"), std::string::npos) << r.output;
  const auto kept = verify::latestValidCheckpoint(mnt + "/run");
  ASSERT_TRUE(kept.checkpoint.has_value()) << r.output;
  EXPECT_GE(kept.checkpoint->step, 0);
}

// 3. A model that cannot fit: `validate` estimates the memory and refuses it, and so does `run`,
// before allocating anything; both say what it needs.
TEST_F(BadInput, AModelTooLargeIsRefusedBeforeAllocating) {
  std::string job = readFile(sourceDir() + "/jobs/quick_mlp.toml");
  job.replace(job.find("hidden = [64, 32]"), 17, "hidden = [1000000000]");
  writeFile(dir_.file("big.toml"), job);
  for (const std::string& cmd :
       {"validate " + dir_.file("big.toml"),
        "run " + dir_.file("big.toml") + " --output " + dir_.file("big")}) {
    const auto r = mlcp(cmd);
    EXPECT_EQ(r.exit_code, 2) << cmd << "\n" << r.output;
    EXPECT_NE(r.output.find("needs about"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("795000000010 parameters"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("frame #"), std::string::npos) << r.output;
  }
}

// 4. Step counts that overflow int64 are refused by validation, not wrapped.
TEST_F(BadInput, EpochCountsThatOverflowAreRefused) {
  for (const std::string epochs : {"576460752303423489", "9223372036854775807"}) {
    std::string job = readFile(sourceDir() + "/jobs/quick_mlp.toml");
    job.replace(job.find("steps = 20"), 10, "epochs = " + epochs);
    writeFile(dir_.file("e.toml"), job);
    const auto r = mlcp("validate " + dir_.file("e.toml"));
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("train.epochs: must be at most"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("-32 steps"), std::string::npos) << r.output;
  }
}

// 5. A dispute over a run whose checkpoint is corrupt names the corrupt checkpoint instead of
// reporting "no dispute".
TEST_F(BadInput, DisputeOverACorruptCheckpointNamesIt) {
  const auto a = run(sourceDir() + "/jobs/quick_mlp.toml", dir_.file("a"));
  ASSERT_EQ(a.exit_code, 0) << a.output;
  fs::copy(dir_.file("a"), dir_.file("b"), fs::copy_options::recursive);
  const std::string shard = verify::checkpointDir(dir_.file("b"), 10) + "/shard-00000.h5";
  fs::resize_file(shard, 100000);
  const auto r = mlcp("verify dispute " + dir_.file("a") + " " + dir_.file("b"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("party B's checkpoint " + verify::checkpointDir(dir_.file("b"), 10) +
                          " is corrupt"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("no dispute"), std::string::npos) << r.output;
}

// 7. SIGTERM to mpirun: the ranks stop at the next step boundary with a checkpoint and a
// message (mpirun SIGKILLs them odls_base_sigkill_timeout, 1 s, later), and `--resume` ends bit
// for bit where an uninterrupted run ends.
TEST_F(BadInput, SigtermThroughMpirunStopsWithACheckpoint) {
  // Long enough that the signal lands mid-run: 400 steps of this model take under a second.
  writeFile(dir_.file("job.toml"), mlpJob("term", 3000) + "[checkpoint]\nevery = 1000\n");
  const auto whole = runCommand(mpiexec(2) + " " + mlcpBinary() + " run " + dir_.file("job.toml") +
                                " --no-progress --output " + dir_.file("whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  const std::string out = dir_.file("term");
  BackgroundProcess job(mpiexec(2) + " " + mlcpBinary() + " run " + dir_.file("job.toml") +
                            " --no-progress --output " + out,
                        dir_.file("term.log"));
  const std::string metrics = out + "/metrics/rank-00000.jsonl";
  ASSERT_TRUE(waitUntil(120, [&] {  // the file appears once the run has started
    return std::filesystem::exists(metrics) &&
           readFile(metrics).find("\"step\":3,") != std::string::npos;
  })) << job.log();
  ASSERT_EQ(kill(job.pid(), SIGTERM), 0);
  const int rc = job.waitFor(120);
  EXPECT_NE(rc, -1) << job.log();
  EXPECT_NE(job.log().find("stopped after step"), std::string::npos) << job.log();
  EXPECT_NE(job.log().find("on SIGTERM"), std::string::npos) << job.log();
  EXPECT_EQ(job.log().find("summary: 3000 steps"), std::string::npos) << job.log();
  const auto resumed =
      runCommand(mpiexec(2) + " " + mlcpBinary() + " run " + dir_.file("job.toml") +
                 " --no-progress --resume --output " + out);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(readFile(out + "/final_state.bin"), readFile(dir_.file("whole") + "/final_state.bin"));
}

// 8. Under mpirun every rank's stdout is a pseudo-terminal even when the output goes to a file:
// the progress must still be plain lines there.
TEST_F(BadInput, ProgressUnderMpirunIsPlainLines) {
  const auto r = runCommand(mpiexec(2) + " " + mlcpBinary() + " run " + sourceDir() +
                            "/jobs/quick_mlp.toml --output " + dir_.file("p") + " > " +
                            dir_.file("p.log") + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << readFile(dir_.file("p.log"));
  const std::string log = readFile(dir_.file("p.log"));
  EXPECT_EQ(log.find('\r'), std::string::npos) << log;
  EXPECT_EQ(log.find("\033["), std::string::npos) << log;
  EXPECT_NE(log.find("step     20/20"), std::string::npos) << log;
}

// 9. `validate` checks the key files `run` would load: a readable-by-others key, garbage, and a
// public key that is not the seed's are each refused, and garbage is never echoed.
TEST_F(BadInput, ValidateRefusesTheKeyFilesRunRefuses) {
  const std::string good = dir_.file("good.key");
  ASSERT_EQ(mlcp("keys new --out " + good).exit_code, 0);
  std::string job = readFile(sourceDir() + "/jobs/quick_mlp.toml");
  job.replace(job.find("[checkpoint]\n"), 13, "[checkpoint]\nkey_file = \"KEY\"\n");
  auto validateWith = [&](const std::string& key) {
    std::string text = job;
    text.replace(text.find("KEY"), 3, key);
    writeFile(dir_.file("k.toml"), text);
    return mlcp("validate " + dir_.file("k.toml"));
  };
  EXPECT_EQ(validateWith(good).exit_code, 0);
  // Mode 0644.
  const std::string open_key = dir_.file("open.key");
  fs::copy_file(good, open_key);
  ::chmod(open_key.c_str(), 0644);
  auto r = validateWith(open_key);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("chmod 600"), std::string::npos) << r.output;
  // Garbage.
  const std::string garbage = dir_.file("garbage.key");
  writeFile(garbage, std::string("\x01\xff\x7fsecret\x02\n\x03\x04", 12));
  ::chmod(garbage.c_str(), 0600);
  r = validateWith(garbage);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("is not an mlcp node key"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("secret"), std::string::npos) << "the key file was echoed: " << r.output;
  EXPECT_EQ(r.output.find('\x01'), std::string::npos) << r.output;
  // A public line that is not the seed's.
  std::string text = readFile(good);
  const auto pub = text.find("public: ") + 8;
  text[pub] = text[pub] == '0' ? '1' : '0';
  const std::string mismatched = dir_.file("mismatched.key");
  writeFile(mismatched, text);
  ::chmod(mismatched.c_str(), 0600);
  r = validateWith(mismatched);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("is not the public key of its seed"), std::string::npos) << r.output;
}

// 10. Messages: replay's errors name the checkpoint and use exit code 2 for every missing
// checkpoint; a job name taken from the file name says so.
TEST_F(BadInput, MessagesNameWhatWasWrongAndWhere) {
  const auto a = run(sourceDir() + "/jobs/quick_mlp.toml", dir_.file("a"));
  ASSERT_EQ(a.exit_code, 0) << a.output;
  for (const std::string range : {"--from 3 --to 10", "--from 0 --to 999"}) {
    const auto r = mlcp("verify replay " + dir_.file("a") + " " + range);
    EXPECT_EQ(r.exit_code, 2) << range << "\n" << r.output;
    EXPECT_NE(r.output.find("has no checkpoint at step"), std::string::npos) << r.output;
  }
  const std::string shard = verify::checkpointDir(dir_.file("a"), 20) + "/shard-00000.h5";
  fs::resize_file(shard, fs::file_size(shard) - 64);
  const auto corrupt = mlcp("verify replay " + dir_.file("a") + " --from 10 --to 20");
  EXPECT_EQ(corrupt.exit_code, 1) << corrupt.output;
  EXPECT_NE(corrupt.output.find(verify::checkpointDir(dir_.file("a"), 20)), std::string::npos)
      << corrupt.output;
  // A file whose name is not a valid job name and no job.name key.
  std::string job = readFile(sourceDir() + "/jobs/quick_mlp.toml");
  job.replace(job.find("name = \"quick_mlp\"\n"), 19, "");
  writeFile(dir_.file("my job!.toml"), job);
  const auto named = mlcp("validate '" + dir_.file("my job!.toml") + "'");
  EXPECT_EQ(named.exit_code, 2) << named.output;
  EXPECT_NE(named.output.find("taken from the job file's name (set job.name)"), std::string::npos)
      << named.output;
}

// 10. Every benchmark program handles --help like `mlcp`: usage, exit 0, nothing run or written.
TEST_F(BadInput, BenchmarksHandleHelpLikeMlcp) {
  for (const std::string bench :
       {"bench_step", "bench_checkpoint", "bench_pipeline", "bench_exact_reduce"}) {
    const std::string path = binaryDir() + "/bench/" + bench;
    if (!fs::exists(path)) GTEST_SKIP() << path << " is not built (MLCP_BUILD_BENCH=OFF)";
    const auto help = runCommand(path + " --help");
    EXPECT_EQ(help.exit_code, 0) << bench << "\n" << help.output;
    EXPECT_NE(help.output.find("Usage"), std::string::npos) << bench << "\n" << help.output;
    const auto bad = runCommand(path + " --no-such-flag");
    EXPECT_EQ(bad.exit_code, 2) << bench << "\n" << bad.output;
    EXPECT_EQ(bad.output.find("terminate called"), std::string::npos) << bad.output;
  }
}

}  // namespace
}  // namespace mlcp::test
