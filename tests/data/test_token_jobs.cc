// The [data] section of a job on token data (jobs/, docs/job-spec.md): one prepared directory or
// a weighted mixture, the pinned vocabulary, what enters the canonical text, and the refusals a
// job file gets before any work starts — all read from the directories' tokens.toml only.
#include <gtest/gtest.h>

#include <filesystem>

#include "base/error.h"
#include "data/dataset.h"
#include "data/token_data.h"
#include "jobs/job_spec.h"
#include "tests/common/test_util.h"

namespace mlcp::data {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::writeFile;

// A directory with a tokens.toml of `tokens` tokens and a vocabulary (no shards: a job file's
// validation reads the manifest alone).
void writeManifest(const std::string& dir, int64_t tokens, int64_t vocab, uint8_t id) {
  fs::create_directories(dir);
  TokenManifest m;
  m.vocabulary_id.bytes.fill(id);
  m.vocab_size = vocab;
  m.token_width = 2;
  m.tokens = tokens;
  m.shards = {TokenShardEntry{"shard-00000.tok", tokens, Hash256{}}};
  writeFile(dir + "/tokens.toml", m.toToml());
}

std::string job(const std::string& data_lines, const std::string& extra = "") {
  return "[model]\nkind = \"gpt\"\nd_model = 32\nlayers = 1\nheads = 2\ncontext = 16\n"
         "[data]\nkind = \"tokens\"\n" +
         data_lines + "[train]\nglobal_batch = 8\nsteps = 2\n" + extra;
}

class TokenJobs : public ::testing::Test {
 protected:
  void SetUp() override {
    writeManifest(dir_.file("a"), 10000, 300, 0x11);
    writeManifest(dir_.file("b"), 5000, 300, 0x11);
    writeManifest(dir_.file("other"), 5000, 280, 0x22);
  }
  jobs::JobSpec parse(const std::string& text) {
    return jobs::parseJobSpec(text, dir_.file("job.toml"));
  }
  std::string error(const std::string& text) {
    try {
      parse(text);
    } catch (const UsageError& e) {
      return e.what();
    }
    ADD_FAILURE() << "accepted:\n" << text;
    return "";
  }
  TempDir dir_;
};

TEST_F(TokenJobs, OneDirectory) {
  const auto s = parse(job("path = \"a\"\n"));
  EXPECT_EQ(s.data.kind, "tokens");
  EXPECT_EQ(s.data.path, dir_.file("a"));
  ASSERT_EQ(s.data.sources.size(), 1u);
  EXPECT_EQ(s.data.sources[0].path, dir_.file("a"));
  const std::string canon = s.canonicalText();
  EXPECT_NE(canon.find("data.kind = \"tokens\"\n"), std::string::npos) << canon;
  EXPECT_NE(canon.find("data.holdout_fraction = 0.05\n"), std::string::npos) << canon;
  EXPECT_EQ(canon.find("data.weights"), std::string::npos) << canon;
  EXPECT_EQ(canon.find(dir_.file("a")), std::string::npos) << "paths are placement";
  EXPECT_EQ(classCount("tokens", s.data.path), 300);
  EXPECT_THROW(classCount("tokens"), UsageError);
}

TEST_F(TokenJobs, MixtureWeightsArePartOfTheProgramAndPathsAreNot) {
  const auto s =
      parse(job("sources = [{path = \"a\", weight = 3}, {path = \"b\", weight = 1.5}]\n"));
  ASSERT_EQ(s.data.sources.size(), 2u);
  EXPECT_EQ(s.data.sources[1].path, dir_.file("b"));
  EXPECT_EQ(s.data.sources[0].weight, 3.0);
  EXPECT_EQ(s.data.sources[1].weight, 1.5);
  EXPECT_EQ(s.data.path, dir_.file("a"));
  const std::string canon = s.canonicalText();
  EXPECT_NE(canon.find("data.weights = [3, 1.5]\n"), std::string::npos) << canon;
  fs::rename(dir_.file("b"), dir_.file("b2"));
  const auto moved =
      parse(job("sources = [{path = \"a\", weight = 3}, {path = \"b2\", weight = 1.5}]\n"));
  EXPECT_EQ(moved.canonicalText(), canon);
  const auto reweighted =
      parse(job("sources = [{path = \"a\", weight = 1}, {path = \"b2\", weight = 1.5}]\n"));
  EXPECT_NE(reweighted.canonicalText(), canon);
}

TEST_F(TokenJobs, PinnedVocabulary) {
  const std::string id(64, '1');
  const auto s = parse(job("path = \"a\"\nvocabulary = \"" + id + "\"\n"));
  EXPECT_NE(s.canonicalText().find("data.vocabulary = \"" + id + "\"\n"), std::string::npos);
  const std::string upper(64, 'F');
  EXPECT_NE(
      error(job("path = \"a\"\nvocabulary = \"" + upper + "\"\n"))
          .find("data.vocabulary: vocabulary mismatch: the job pins \"" + std::string(64, 'f')),
      std::string::npos);
  EXPECT_NE(error(job("path = \"a\"\nvocabulary = \"abc\"\n"))
                .find("data.vocabulary: expected a vocabulary id (64 hex digits"),
            std::string::npos);
}

TEST_F(TokenJobs, Refusals) {
  const auto expect = [&](const std::string& text, const std::string& part) {
    const std::string e = error(text);
    EXPECT_NE(e.find(part), std::string::npos) << "expected '" << part << "' in: " << e;
  };
  expect(job(""), "data.path: is required (a directory `mlcp data prepare` wrote, or data.sources");
  expect(job("path = \"a\"\nsources = [{path = \"b\"}]\n"),
         "data.sources: expected either data.path (one prepared directory) or data.sources");
  expect(job("sources = []\n"), "data.sources: expected at least one source");
  expect(job("sources = [{path = \"a\", weight = 0}]\n"),
         "data.sources[0].weight: expected a finite number > 0");
  expect(job("sources = [{path = \"a\"}, {weight = 2}]\n"), "data.sources[1].path: is required");
  expect(job("sources = [{path = \"a\", wieght = 2}]\n"),
         "data.sources[0].wieght: expected a key of a source (path, weight)");
  expect(job("sources = [\"a\"]\n"), "data.sources[0]: expected a table, got a string");
  expect(job("path = \"nowhere\"\n"),
         "data.path: expected a directory `mlcp data prepare` wrote, got \"" +
             dir_.file("nowhere") + "\" which does not exist");
  fs::create_directories(dir_.file("empty"));
  expect(job("path = \"empty\"\n"), "which has no tokens.toml");
  expect(job("sources = [{path = \"a\"}, {path = \"other\"}]\n"),
         "data.sources[1]: vocabulary mismatch: \"" + dir_.file("other") +
             "\" was prepared with vocabulary 2222");
  // (10000 - 500 - 1) / 16 = 593 training windows.
  expect(job("path = \"a\"\n")
             .replace(job("path = \"a\"\n").find("global_batch = 8"), 16, "global_batch = 600"),
         "train.global_batch: must be at most the 593 training samples");
  expect(job("path = \"a\"\nholdout_fraction = 0.0001\n"),
         "data.holdout_fraction: must leave at least model.context+1 = 17 tokens in the held-out");
  // tp must divide the data's vocabulary (300), not the 256 bytes.
  expect(job("path = \"a\"\n", "[parallel]\ntp = 8\n")
             .replace(job("path = \"a\"\n").find("heads = 2"), 9, "heads = 8"),
         "parallel.tp: must divide the token data's vocabulary (300)");
  expect(
      "[model]\nkind = \"mlp\"\n[data]\nkind = \"tokens\"\npath = \"a\"\n[train]\nglobal_batch = "
      "8\nsteps = 1\n",
      "data.kind: must be \"fashion-mnist\" for model.kind \"mlp\", got \"tokens\"");
  expect("[model]\nkind = \"gpt\"\n[data]\nkind = \"text\"\npath = \"a\"\nvocabulary = \"x\"\n",
         "data.vocabulary: is used only with data.kind \"tokens\"");
}

}  // namespace
}  // namespace mlcp::data
