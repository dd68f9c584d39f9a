// Token data end to end, on the real `mlcp` binary: `mlcp data prepare` tokenizes the fortunes
// corpus with a SentencePiece vocabulary it trains (512 pieces) into many small shards; a GPT
// trains on it under mpiexec with the same bits on 1 and 2 ranks; a run stopped at a checkpoint
// and resumed — its remaining steps reading windows from shards the first part never touched,
// and windows that straddle two shards — ends on the bits of the uninterrupted run; a weighted
// mixture of two prepared sources is as placement-free; a corrupt shard and a vocabulary
// mismatch are one clear sentence and a non-zero exit.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "data/sample_order.h"
#include "data/token_data.h"
#include "tests/common/test_util.h"

namespace mlcp::test {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kContext = 32;
constexpr int64_t kShardTokens = 4093;  // prime: windows of 32 straddle boundaries everywhere
constexpr int64_t kGlobalBatch = 24;
constexpr uint64_t kSeed = 5;

std::string tokenJob(const std::string& data_lines, int steps) {
  return "[job]\nname = \"tokens\"\nseed = " + std::to_string(kSeed) +
         "\n[model]\nkind = \"gpt\"\nd_model = 32\nlayers = 2\nheads = 2\ncontext = " +
         std::to_string(kContext) +
         "\ndropout = 0.1\n"
         "[data]\nkind = \"tokens\"\n" +
         data_lines +
         "eval_limit = 48\n"
         "[optimizer]\nkind = \"adamw\"\nlr = 0.003\n"
         "[train]\nglobal_batch = " +
         std::to_string(kGlobalBatch) + "\nmicro_batches = 4\nsteps = " + std::to_string(steps) +
         "\n[checkpoint]\nevery = 4\n";
}

std::string pathLine(const std::string& dir) { return "path = \"" + dir + "\"\n"; }

class TokenTraining : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir("mlcp-token-training");
    setenv("MLCP_KEY_FILE", root_->file("node.key").c_str(), 1);
    // A: all of fortunes, a vocabulary trained here. B: two of its files, A's vocabulary.
    const auto a = runCommand(mlcpBinary() + " data prepare /usr/share/games/fortunes --out " +
                              root_->file("A") +
                              " --vocab-size 512 --model-type bpe --sample-lines 4000 "
                              "--shard-tokens " +
                              std::to_string(kShardTokens));
    ASSERT_EQ(a.exit_code, 0) << a.output;
    ASSERT_NE(a.output.find("vocabulary:   512 pieces, trained here"), std::string::npos)
        << a.output;
    fs::create_directories(root_->file("small"));
    for (const char* f : {"linux", "science"}) {
      fs::copy_file(std::string("/usr/share/games/fortunes/") + f, root_->file("small/") + f);
    }
    const auto b = runCommand(mlcpBinary() + " data prepare " + root_->file("small") + " --out " +
                              root_->file("B") + " --model " + root_->file("A/tokenizer.model") +
                              " --shard-tokens 1000");
    ASSERT_EQ(b.exit_code, 0) << b.output;
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }

  // Runs `job_text` on `ranks` ranks into run directory `run`.
  CommandResult train(const std::string& job_text, int ranks, const std::string& run,
                      const std::string& extra = "") {
    writeFile(dir_.file(run + ".toml"), job_text);
    return runCommand(mpiexec(ranks) + " " + mlcpBinary() + " run " + dir_.file(run + ".toml") +
                      " --no-progress --output " + dir_.file(run) + " " + extra);
  }
  std::string finalState(const std::string& run) {
    return readFile(dir_.file(run) + "/final_state.bin");
  }
  std::string dataHashOf(const std::string& run, int step) {
    const auto m = nlohmann::json::parse(
        readFile(fmt::format("{}/checkpoints/step-{:08d}/manifest.json", dir_.file(run), step)));
    return m.value("data_hash", "");
  }

  static TempDir* root_;
  TempDir dir_{"mlcp-token-run"};
};
TempDir* TokenTraining::root_ = nullptr;

// The shards that the windows of steps [from, to) read, and whether one of them straddles two.
std::set<int64_t> shardsOfSteps(const data::TokenManifest& m, int64_t from, int64_t to,
                                bool* straddles) {
  const auto held = static_cast<int64_t>(std::floor(static_cast<double>(m.tokens) * 0.05));
  const int64_t windows = (m.tokens - held - 1) / kContext;
  data::MicroBatchPlan plan(kSeed, windows, kGlobalBatch, 4);
  std::set<int64_t> shards;
  for (int64_t s = from; s < to; ++s) {
    for (int64_t j = 0; j < 4; ++j) {
      for (int64_t w : plan.microBatch(s, j)) {
        const int64_t first = w * kContext / kShardTokens;
        const int64_t last = (w * kContext + kContext) / kShardTokens;
        shards.insert(first);
        shards.insert(last);
        *straddles = *straddles || first != last;
      }
    }
  }
  return shards;
}

TEST_F(TokenTraining, OneAndTwoRanksAndAResumeAcrossShardsAreBitwiseEqual) {
  const std::string a = root_->file("A");
  const std::string job = tokenJob(pathLine(a), 12);
  const auto whole1 = train(job, 1, "whole1");
  ASSERT_EQ(whole1.exit_code, 0) << whole1.output;
  const auto whole2 = train(job, 2, "whole2");
  ASSERT_EQ(whole2.exit_code, 0) << whole2.output;
  ASSERT_GT(finalState("whole1").size(), 1000u);
  EXPECT_EQ(finalState("whole1"), finalState("whole2")) << "1 and 2 ranks differ";

  // Stopped after the checkpoint of step 8, resumed on 2 ranks.
  const auto half = train(job, 2, "halves", "--max-steps 8");
  ASSERT_EQ(half.exit_code, 0) << half.output;
  EXPECT_TRUE(fs::exists(fmt::format("{}/checkpoints/step-{:08d}", dir_.file("halves"), 8)));
  const auto rest = train(job, 2, "halves", "--resume");
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  EXPECT_NE(rest.output.find("resumed from"), std::string::npos) << rest.output;
  EXPECT_EQ(finalState("halves"), finalState("whole1")) << "the resumed run differs";

  // The resumed steps read shards the first 8 steps never read, and windows across boundaries.
  const auto manifest = data::TokenManifest::read(a);
  ASSERT_GT(manifest.shards.size(), 100u);
  bool straddles_before = false, straddles_after = false;
  const auto before = shardsOfSteps(manifest, 0, 8, &straddles_before);
  const auto after = shardsOfSteps(manifest, 8, 12, &straddles_after);
  size_t new_shards = 0;
  for (int64_t s : after) new_shards += before.count(s) == 0;
  EXPECT_GT(new_shards, 10u);
  EXPECT_TRUE(straddles_after) << "no window of steps 9-12 straddles two shards";

  // Every checkpoint records the data's content hash: the one `prepare` printed.
  EXPECT_EQ(dataHashOf("whole1", 4), manifest.content_hash.hex());
  EXPECT_EQ(dataHashOf("halves", 12), manifest.content_hash.hex());
}

TEST_F(TokenTraining, WeightedMixtureIsTheSameOnOneAndTwoRanks) {
  const std::string sources = "sources = [{path = \"" + root_->file("A") +
                              "\", weight = 3}, {path = \"" + root_->file("B") +
                              "\", weight = 1.5}]\n";
  const std::string job = tokenJob(sources, 6);
  const auto one = train(job, 1, "mix1");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_NE(one.output.find("mixture"), std::string::npos) << one.output;
  const auto two = train(job, 2, "mix2");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_EQ(finalState("mix1"), finalState("mix2")) << "the mixture differs on 1 and 2 ranks";
  // The mixture is other data than A alone: its content hash says so.
  const auto a = data::TokenManifest::read(root_->file("A"));
  EXPECT_EQ(dataHashOf("mix1", 4).size(), 64u);
  EXPECT_NE(dataHashOf("mix1", 4), a.content_hash.hex());
}

TEST_F(TokenTraining, CorruptShardIsAClearError) {
  fs::copy(root_->file("A"), dir_.file("C"), fs::copy_options::recursive);
  const std::string shard = dir_.file("C") + "/shard-00007.tok";
  std::string bytes = readFile(shard);
  bytes[bytes.size() - 100] ^= 0x10;
  writeFile(shard, bytes);
  const auto verify = runCommand(mlcpBinary() + " data verify " + dir_.file("C"));
  EXPECT_EQ(verify.exit_code, 1) << verify.output;
  EXPECT_NE(verify.output.find("token shard " + shard + " is corrupt"), std::string::npos)
      << verify.output;
  const auto run = train(tokenJob(pathLine(dir_.file("C")), 4), 2, "corrupt");
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("token shard " + shard + " is corrupt"), std::string::npos)
      << run.output;
  EXPECT_EQ(run.output.find("internal error"), std::string::npos) << run.output;
}

TEST_F(TokenTraining, VocabularyMismatchWithACheckpointsJobIsAClearError) {
  // The job's data directory P: first A's tokens; a checkpoint at step 4.
  const std::string p = dir_.file("P");
  fs::copy(root_->file("A"), p, fs::copy_options::recursive);
  const std::string job = tokenJob(pathLine(p), 8);
  const auto first = train(job, 1, "vocab", "--max-steps 4");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  // P is prepared again from the same corpus with another vocabulary.
  fs::remove_all(p);
  const auto again = runCommand(mlcpBinary() + " data prepare /usr/share/games/fortunes --out " +
                                p + " --vocab-size 384 --model-type bpe --sample-lines 4000");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  const auto resumed = train(job, 1, "vocab", "--resume");
  EXPECT_EQ(resumed.exit_code, 2) << resumed.output;
  EXPECT_NE(resumed.output.find("was trained on data with content hash " +
                                data::TokenManifest::read(root_->file("A")).content_hash.hex()),
            std::string::npos)
      << resumed.output;
  // A job that pins its vocabulary names the mismatch itself, before any work.
  const std::string pinned =
      tokenJob(pathLine(p) + "vocabulary = \"" +
                   data::TokenManifest::read(root_->file("A")).vocabulary_id.hex() + "\"\n",
               8);
  const auto refused = train(pinned, 1, "pinned");
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("data.vocabulary: vocabulary mismatch: the job pins"),
            std::string::npos)
      << refused.output;
}

TEST_F(TokenTraining, PrepareRefusesAWrongModelFile) {
  writeFile(dir_.file("not.model"), "plain text, not a model\n");
  const auto r = runCommand(mlcpBinary() + " data prepare " + root_->file("small") + " --out " +
                            dir_.file("X") + " --model " + dir_.file("not.model"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(dir_.file("not.model") + " is not a SentencePiece model"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir_.file("X")));
  const auto missing = runCommand(mlcpBinary() + " data prepare " + dir_.file("nothing") +
                                  " --out " + dir_.file("Y") + " --vocab-size 100");
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("text corpus " + dir_.file("nothing") + " does not exist"),
            std::string::npos)
      << missing.output;
}

}  // namespace
}  // namespace mlcp::test
