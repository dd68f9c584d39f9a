// Memory layouts of the same arithmetic (issue 18): a sharded optimizer (ZeRO stage 1,
// `[parallel] shard_optimizer`) and activation recomputation (`[runtime] recompute`) change what
// a rank keeps, never a bit of the result. Each case runs the real `mlcp run` under mpiexec and
// compares final_state.bin and every checkpoint root with the plain one-process run; a sharded
// run resumes on another rank count, sharded or not.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <tuple>
#include <vector>

#include "tests/common/test_util.h"
#include "tests/runtime/run_bits.h"

namespace mlcp::test {
namespace {

namespace fs = std::filesystem;

// A GPT with dropout and AdamW (two state tensors per parameter), checkpointed every 2 steps.
std::string gpt(const std::string& extra_parallel = "", const std::string& extra_runtime = "") {
  return "[job]\nname = \"layouts\"\nseed = 5\n"
         "[model]\nkind = \"gpt\"\nd_model = 32\nlayers = 3\nheads = 2\ncontext = 16\n"
         "dropout = 0.1\n"
         "[data]\nkind = \"text\"\npath = \"/usr/share/games/fortunes\"\n"
         "train_limit = 20000\neval_limit = 200\n"
         "[optimizer]\nkind = \"adamw\"\nlr = 0.003\ngrad_clip = 1.0\n"
         "[train]\nglobal_batch = 24\nmicro_batches = 6\nsteps = 6\n"
         "[checkpoint]\nevery = 2\n"
         "[parallel]\n" +
         extra_parallel + "[runtime]\n" + extra_runtime;
}

CommandResult train(const TempDir& dir, const std::string& job_text, int ranks,
                    const std::string& tag, const std::string& flags = "") {
  writeFile(dir.file(tag + ".toml"), job_text);
  return runCommand(mpiexec(ranks) + " " + mlcpBinary() + " run " + dir.file(tag + ".toml") +
                    " --no-progress --output " + dir.file("run-" + tag) + " " + flags);
}

RunBits trainBits(const TempDir& dir, const std::string& job_text, int ranks,
                  const std::string& tag) {
  const auto r = train(dir, job_text, ranks, tag);
  EXPECT_EQ(r.exit_code, 0) << tag << "\n" << r.output;
  if (r.exit_code != 0) return {};
  return runBits(dir.file("run-" + tag));
}

// Every run of these tests writes four checkpoints: step 0 (the seed's state) and three more.
void expectSame(const RunBits& ref, const RunBits& got, const std::string& what) {
  EXPECT_EQ(ref.roots.size(), 4u) << what;
  expectSameBits(ref, got, what);
}

TEST(MemoryLayouts, ShardedOptimizerIsTheUnshardedResultOn2To4Ranks) {
  TempDir dir;
  const RunBits ref = trainBits(dir, gpt(), 1, "ref");
  for (int ranks : {2, 3, 4}) {
    expectSame(
        ref,
        trainBits(dir, gpt("shard_optimizer = true\n"), ranks, "shard" + std::to_string(ranks)),
        "shard_optimizer on " + std::to_string(ranks) + " ranks");
  }
  // With pipeline stages too: each stage's replicas share its optimizer state.
  expectSame(ref, trainBits(dir, gpt("pp = 2\nshard_optimizer = true\n"), 4, "shard-pp2"),
             "shard_optimizer, dp 2 x pp 2");
}

// A sharded checkpoint is logical: it resumes on another rank count, sharded or not.
TEST(MemoryLayouts, ShardedRunResumesOnOtherRankCounts) {
  TempDir dir;
  const RunBits ref = trainBits(dir, gpt(), 1, "ref");
  for (const auto& [first, then, sharded_then] :
       std::vector<std::tuple<int, int, bool>>{{4, 2, true}, {3, 1, false}}) {
    const std::string tag = "resume" + std::to_string(first) + std::to_string(then);
    auto r = train(dir, gpt("shard_optimizer = true\n"), first, tag, "--max-steps 4");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    r = train(dir, gpt(sharded_then ? "shard_optimizer = true\n" : ""), then, tag, "--resume");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("resumed from"), std::string::npos) << r.output;
    expectSame(ref, runBits(dir.file("run-" + tag)),
               std::to_string(first) + " sharded ranks, resumed on " + std::to_string(then));
  }
}

TEST(MemoryLayouts, RecomputationIsThePlainResult) {
  TempDir dir;
  const RunBits ref = trainBits(dir, gpt(), 1, "ref");
  expectSame(ref, trainBits(dir, gpt("", "recompute = true\n"), 1, "recompute"),
             "recompute on 1 rank");
  expectSame(ref, trainBits(dir, gpt("pp = 2\n", "recompute = true\n"), 2, "recompute-pp2"),
             "recompute, pp 2");
  expectSame(ref, trainBits(dir, gpt("shard_optimizer = true\n", "recompute = true\n"), 2, "both"),
             "recompute and shard_optimizer on 2 ranks");
}

// The plan prints the per-rank memory with and without the sharded optimizer.
TEST(MemoryLayouts, PlanShowsMemoryWithAndWithoutSharding) {
  TempDir dir;
  writeFile(dir.file("job.toml"), gpt("shard_optimizer = true\n", "recompute = true\n"));
  const auto r = runCommand(mlcpBinary() + " plan " + dir.file("job.toml") +
                            " --ranks 4 --picture " + dir.file("plan.png"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("memory per rank (estimate)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(", recomputed per layer,"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("without shard_optimizer"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("/ 4 (shard_optimizer over dp)"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace mlcp::test
