// Token data (docs/data-format.md): the shard format round trip and its refusals (wrong magic,
// other version, corrupt header, truncated, corrupt tokens, ids outside the vocabulary), and a
// real `prepare` on fortunes text with a real SentencePiece vocabulary — its tokens are exactly
// the ids SentencePiece's own `spm_encode` prints — read back across shard boundaries, with a
// prepared directory's refusals (vocabulary mismatches, swapped shards, an edited manifest).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "data/corpus_lines.h"
#include "data/token_data.h"
#include "data/token_prepare.h"
#include "data/token_shard.h"
#include "data/token_vocabulary.h"
#include "tests/common/test_util.h"

namespace mlcp::data {
namespace {

namespace fs = std::filesystem;
using test::readFile;
using test::TempDir;
using test::writeFile;

// The message of the mlcp::Error that `f` throws (fails the test when it throws none).
template <typename E, typename F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw another type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "threw nothing";
  return "";
}

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

Hash256 someId(uint8_t b) {
  Hash256 h;
  h.bytes.fill(b);
  return h;
}

std::string writeShard(const TempDir& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir.file(name);
  writeFile(path, bytes);
  return path;
}

std::vector<int64_t> readAll(const TokenShard& s) {
  std::vector<int64_t> out(static_cast<size_t>(s.size()));
  s.read(0, s.size(), out.data());
  return out;
}

// ---- the shard format -----------------------------------------------------------------------

TEST(TokenShard, RoundTripAtBothWidths) {
  TempDir dir;
  for (const int64_t vocab : {300, 70000}) {
    std::vector<int32_t> tokens;
    for (int i = 0; i < 1001; ++i) tokens.push_back(static_cast<int32_t>((i * 7919) % vocab));
    const uint32_t width = tokenWidthFor(vocab);
    EXPECT_EQ(width, vocab <= 65536 ? 2u : 4u);
    const std::string bytes = encodeTokenShard(tokens, width, vocab, 3, someId(0xAB));
    ASSERT_EQ(bytes.size(), kTokenShardHeaderBytes + tokens.size() * width);
    EXPECT_EQ(bytes.substr(0, 8), "MLCPTOKS");
    const TokenShard shard(writeShard(dir, "s" + std::to_string(vocab), bytes));
    EXPECT_EQ(shard.header().version, 1u);
    EXPECT_EQ(shard.header().token_width, width);
    EXPECT_EQ(shard.header().vocab_size, static_cast<uint64_t>(vocab));
    EXPECT_EQ(shard.header().token_count, tokens.size());
    EXPECT_EQ(shard.header().shard_index, 3u);
    EXPECT_EQ(shard.header().vocabulary_id, someId(0xAB));
    shard.verify();
    const auto back = readAll(shard);
    ASSERT_EQ(back.size(), tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) ASSERT_EQ(back[i], tokens[i]) << "token " << i;
  }
  // The boundary of the two widths: 65536 pieces fit in uint16 (ids 0..65535).
  EXPECT_EQ(tokenWidthFor(65536), 2u);
  EXPECT_EQ(tokenWidthFor(65537), 4u);
}

TEST(TokenShard, ByteExactHeaderLayout) {
  const std::string b = encodeTokenShard({1, 2, 3}, 2, 300, 5, someId(0x11));
  auto le = [&](size_t off, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[off + i]);
    return v;
  };
  EXPECT_EQ(le(8, 4), 1u);     // version
  EXPECT_EQ(le(12, 4), 2u);    // width
  EXPECT_EQ(le(16, 8), 300u);  // vocabulary size
  EXPECT_EQ(le(24, 8), 3u);    // tokens
  EXPECT_EQ(le(32, 8), 5u);    // shard index
  EXPECT_EQ(static_cast<uint8_t>(b[40]), 0x11);
  EXPECT_EQ(blake2b256(b.data() + 136, 6), [&] {
    Hash256 h;
    std::memcpy(h.bytes.data(), b.data() + 72, 32);
    return h;
  }());
  EXPECT_EQ(blake2b256(b.data(), 104), [&] {
    Hash256 h;
    std::memcpy(h.bytes.data(), b.data() + 104, 32);
    return h;
  }());
  EXPECT_EQ(le(136, 2), 1u);
  EXPECT_EQ(le(140, 2), 3u);
}

class ShardRefusal : public ::testing::Test {
 protected:
  std::string good_ = encodeTokenShard({5, 6, 7, 8, 9, 10}, 2, 300, 0, someId(0x22));
  TempDir dir_;
  std::string open(const std::string& bytes) {
    const std::string path = writeShard(dir_, "bad.tok", bytes);
    return path;
  }
};

TEST_F(ShardRefusal, WrongMagic) {
  std::string b = good_;
  b[0] = 'X';
  const auto path = open(b);
  const auto msg = errorOf<UsageError>([&] { TokenShard s(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "is not an mlcp token shard");
}

TEST_F(ShardRefusal, OtherVersion) {
  std::string b = good_;
  b[8] = 2;
  const auto msg = errorOf<UsageError>([&] { TokenShard s(open(b)); });
  EXPECT_CONTAINS(msg, "format version 2");
}

TEST_F(ShardRefusal, CorruptHeader) {
  std::string b = good_;
  b[24] ^= 0x01;  // token count: the checksum no longer matches
  const auto msg = errorOf<VerificationError>([&] { TokenShard s(open(b)); });
  EXPECT_CONTAINS(msg, "header checksum does not match");
}

TEST_F(ShardRefusal, TruncatedHeaderAndTokens) {
  EXPECT_CONTAINS(errorOf<UsageError>([&] { TokenShard s(open(good_.substr(0, 100))); }),
                  "shorter than the 136-byte header");
  EXPECT_CONTAINS(
      errorOf<UsageError>([&] { TokenShard s(open(good_.substr(0, good_.size() - 3))); }),
      "is truncated");
  EXPECT_CONTAINS(errorOf<UsageError>([&] { TokenShard s(open(good_ + "xx")); }), "padded");
  EXPECT_CONTAINS(errorOf<UsageError>([&] { TokenShard s(open("")); }), "truncated");
}

TEST_F(ShardRefusal, CorruptTokens) {
  std::string b = good_;
  b[kTokenShardHeaderBytes + 4] ^= 0x40;
  const TokenShard shard(open(b));  // the header alone is sound
  const auto msg = errorOf<VerificationError>([&] { shard.verify(); });
  EXPECT_CONTAINS(msg, "is corrupt");
  EXPECT_CONTAINS(msg, "do not match the token hash");
}

TEST_F(ShardRefusal, TokenOutsideTheVocabulary) {
  const TokenShard shard(open(encodeTokenShard({1, 2, 300, 4}, 2, 300, 0, someId(1))));
  const auto msg = errorOf<VerificationError>([&] { shard.verify(); });
  EXPECT_CONTAINS(msg, "token id 300 at position 2, outside its vocabulary of 300 pieces");
}

// ---- prepare, with a real SentencePiece vocabulary --------------------------------------------

class PreparedTokens : public ::testing::Test {
 protected:
  // One corpus and one vocabulary for the whole suite (training is the slow part).
  static void SetUpTestSuite() {
    root_ = new TempDir("mlcp-tokens");
    fs::create_directories(root_->file("corpus"));
    // Two fortune files, cut to a few hundred lines each: a directory corpus in name order.
    for (const char* f : {"computers", "cookie"}) {
      std::ifstream in(std::string("/usr/share/games/fortunes/") + f);
      std::ostringstream text;
      std::string line;
      for (int i = 0; i < 600 && std::getline(in, line); ++i) text << line << "\n";
      writeFile(root_->file(std::string("corpus/") + f), text.str());
    }
    writeFile(root_->file("corpus/.hidden"), "never read\n");
    VocabularyTraining t;
    t.vocab_size = 300;
    t.model_type = "bpe";
    writeFile(root_->file("m300.model"), trainVocabulary(root_->file("corpus"), t));
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  static std::string corpus() { return root_->file("corpus"); }
  static std::string model() { return root_->file("m300.model"); }

  PrepareSummary prepare(const std::string& out, int64_t shard_tokens = 1000) {
    PrepareOptions o;
    o.corpus = corpus();
    o.out = dir_.file(out);
    o.model = model();
    o.shard_tokens = shard_tokens;
    return prepareTokenData(o);
  }

  // The ids SentencePiece gives the corpus, line by line, each line followed by </s>.
  static std::vector<int64_t> expectedStream() {
    const auto v = TokenVocabulary::load(model());
    CorpusLines lines(corpus());
    std::string line;
    std::vector<int> ids;
    std::vector<int64_t> out;
    while (lines.next(&line)) {
      v.encode(line, &ids);
      out.insert(out.end(), ids.begin(), ids.end());
      out.push_back(v.eosId());
    }
    return out;
  }

  static TempDir* root_;
  TempDir dir_;
};
TempDir* PreparedTokens::root_ = nullptr;

TEST_F(PreparedTokens, StreamIsTheCorpusEncodedLineByLineAcrossShards) {
  const auto s = prepare("tok", 997);
  const auto expected = expectedStream();
  EXPECT_EQ(s.tokens, static_cast<int64_t>(expected.size()));
  EXPECT_EQ(s.shards, (s.tokens + 996) / 997);
  EXPECT_GT(s.shards, 10) << "the test wants many shard boundaries";
  EXPECT_EQ(s.vocab_size, 300);
  EXPECT_EQ(s.token_width, 2u);
  EXPECT_EQ(s.lines, 1200);
  EXPECT_EQ(s.files, 2);
  EXPECT_FALSE(fs::exists(dir_.file("tok.partial")));

  const TokenSource source(dir_.file("tok"), 0.0);
  EXPECT_EQ(source.manifest().vocabulary_id, blake2b256(readFile(model())));
  EXPECT_EQ(source.manifest().content_hash, s.content_hash);
  std::vector<int64_t> all(static_cast<size_t>(source.tokens()));
  source.read(0, source.tokens(), all.data());
  EXPECT_EQ(all, expected);
  // Reads that start and end anywhere, across one or many shard boundaries.
  for (int64_t pos : {int64_t{0}, int64_t{990}, int64_t{996}, int64_t{997}, int64_t{2500}}) {
    for (int64_t n : {int64_t{1}, int64_t{8}, int64_t{33}, int64_t{2100}}) {
      std::vector<int64_t> part(static_cast<size_t>(n));
      source.read(pos, n, part.data());
      EXPECT_TRUE(std::equal(part.begin(), part.end(), expected.begin() + pos)) << pos << "+" << n;
    }
  }
}

// The tokens are SentencePiece's own: `spm_encode` (Debian sentencepiece) prints the same ids.
TEST_F(PreparedTokens, TokensEqualSpmEncode) {
  if (!fs::exists("/usr/bin/spm_encode")) GTEST_SKIP() << "spm_encode is not installed";
  prepare("tok");
  const TokenSource source(dir_.file("tok"), 0.0);
  std::vector<int64_t> ours(static_cast<size_t>(source.tokens()));
  source.read(0, source.tokens(), ours.data());

  std::string text;
  for (const char* f : {"computers", "cookie"}) text += readFile(corpus() + "/" + f);
  writeFile(dir_.file("all.txt"), text);
  const auto r = test::runCommand("/usr/bin/spm_encode --model=" + model() +
                                  " --output_format=id < " + dir_.file("all.txt"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<int64_t> theirs;
  for (const auto& line : test::splitLines(r.output)) {
    std::istringstream in(line);
    int64_t id;
    while (in >> id) theirs.push_back(id);
    theirs.push_back(source.manifest().eos_id);
  }
  EXPECT_EQ(ours, theirs);
}

TEST_F(PreparedTokens, SplitsWindowsAndContentHash) {
  prepare("tok");
  TokenDataOptions o;
  o.sources = {{dir_.file("tok"), 1.0}};
  o.context = 16;
  o.holdout_fraction = 0.1;
  const auto d = loadTokenData(o);
  const TokenSource source(dir_.file("tok"), 0.1);
  EXPECT_EQ(d.num_classes, 300);
  EXPECT_EQ(d.content_hash, source.manifest().content_hash.hex());
  EXPECT_EQ(d.train->size(), (source.trainTokens() - 1) / 16);
  EXPECT_EQ(d.eval->size(), (source.tokens() - source.trainTokens() - 1) / 16);
  EXPECT_GT(d.unigram_entropy_nats, 2.0);
  EXPECT_LT(d.unigram_entropy_nats, std::log(300.0));
  const auto b = d.train->batch({0, 61, 62});
  ASSERT_EQ(b.input.sizes(), (std::vector<int64_t>{3, 16}));
  std::vector<int64_t> w(17);
  source.read(61 * 16, 17, w.data());
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(b.input[1][i].item<int64_t>(), w[static_cast<size_t>(i)]);
    EXPECT_EQ(b.target[1][i].item<int64_t>(), w[static_cast<size_t>(i) + 1]);
  }
  // The held-out windows start where the training tokens end.
  const auto e = d.eval->batch({0});
  source.read(source.trainTokens(), 1, w.data());
  EXPECT_EQ(e.input[0][0].item<int64_t>(), w[0]);
}

TEST_F(PreparedTokens, PrepareRefusals) {
  prepare("tok");
  // An existing output.
  EXPECT_CONTAINS(errorOf<UsageError>([&] { prepare("tok"); }), "already exists");
  PrepareOptions o;
  o.corpus = dir_.file("no-such-corpus");
  o.out = dir_.file("x");
  o.model = model();
  EXPECT_CONTAINS(errorOf<UsageError>([&] { prepareTokenData(o); }), "does not exist");
  // A file that is not a SentencePiece model.
  writeFile(dir_.file("fake.model"), "this is not a model\n");
  o.corpus = corpus();
  o.model = dir_.file("fake.model");
  const auto msg = errorOf<UsageError>([&] { prepareTokenData(o); });
  EXPECT_CONTAINS(msg, dir_.file("fake.model") + " is not a SentencePiece model");
  EXPECT_FALSE(fs::exists(dir_.file("x"))) << "a failed prepare leaves no output";
  EXPECT_FALSE(fs::exists(dir_.file("x.partial"))) << "and removes its partial folder";
  // Neither or both of --vocab-size and --model.
  o.model.clear();
  EXPECT_CONTAINS(errorOf<UsageError>([&] { prepareTokenData(o); }), "exactly one of");
}

class PreparedDirectoryRefusal : public PreparedTokens {
 protected:
  void SetUp() override {
    prepare("tok", 500);
    dir = dir_.file("tok");
  }
  std::string dir;
  std::string shard(int i) const {
    char name[32];
    std::snprintf(name, sizeof name, "/shard-%05d.tok", i);
    return dir + name;
  }
  template <typename E>
  std::string openError() {
    return errorOf<E>([&] { TokenSource s(dir, 0.05); });
  }
};

TEST_F(PreparedDirectoryRefusal, CorruptShardNamesTheFile) {
  std::string b = readFile(shard(3));
  b[b.size() / 2] ^= 0x01;
  writeFile(shard(3), b);
  const auto msg = openError<VerificationError>();
  EXPECT_CONTAINS(msg, shard(3));
  EXPECT_CONTAINS(msg, "is corrupt");
}

TEST_F(PreparedDirectoryRefusal, TruncatedShard) {
  const std::string b = readFile(shard(2));
  writeFile(shard(2), b.substr(0, b.size() - 10));
  EXPECT_CONTAINS(openError<UsageError>(), shard(2) + " is truncated");
}

TEST_F(PreparedDirectoryRefusal, ShardOfAnotherVocabulary) {
  // A sound shard of the same length and tokens, but encoded with another vocabulary id.
  const TokenShard original(shard(1));
  auto tokens = readAll(original);
  std::vector<int32_t> t32(tokens.begin(), tokens.end());
  writeFile(shard(1), encodeTokenShard(t32, 2, 300, 1, someId(0x5A)));
  const auto msg = openError<UsageError>();
  EXPECT_CONTAINS(msg, "vocabulary mismatch: token shard " + shard(1));
  EXPECT_CONTAINS(msg, someId(0x5A).hex());
}

TEST_F(PreparedDirectoryRefusal, SwappedShards) {
  const std::string a = readFile(shard(0)), b = readFile(shard(1));
  writeFile(shard(0), b);
  writeFile(shard(1), a);
  EXPECT_CONTAINS(openError<UsageError>(), "shards were renamed or mixed up");
}

TEST_F(PreparedDirectoryRefusal, AnotherTokenizerModel) {
  VocabularyTraining t;
  t.vocab_size = 280;
  t.model_type = "bpe";
  writeFile(dir + "/tokenizer.model", trainVocabulary(corpus(), t));
  const auto msg = openError<VerificationError>();
  EXPECT_CONTAINS(msg, "vocabulary mismatch: " + dir + "/tokenizer.model");
}

TEST_F(PreparedDirectoryRefusal, EditedManifest) {
  std::string m = readFile(dir + "/tokens.toml");
  const auto content = TokenManifest::read(dir).content_hash.hex();
  m.replace(m.find(content), 64, std::string(64, '0'));
  writeFile(dir + "/tokens.toml", m);
  EXPECT_CONTAINS(openError<VerificationError>(), "does not match its shards");
  fs::remove(dir + "/tokens.toml");
  EXPECT_CONTAINS(openError<UsageError>(), "is not a prepared token directory");
}

TEST_F(PreparedTokens, VocabularyMismatchesBetweenJobAndData) {
  prepare("tok");
  TokenDataOptions o;
  o.sources = {{dir_.file("tok"), 1.0}};
  o.context = 16;
  o.vocabulary = std::string(64, 'e');
  EXPECT_CONTAINS(errorOf<UsageError>([&] { loadTokenData(o); }),
                  "vocabulary mismatch: the job pins data.vocabulary = " + o.vocabulary);
  // Two sources of two vocabularies cannot mix.
  VocabularyTraining t;
  t.vocab_size = 280;
  t.model_type = "bpe";
  PrepareOptions p;
  p.corpus = corpus();
  p.out = dir_.file("other");
  p.training = t;
  prepareTokenData(p);
  o.vocabulary.clear();
  o.sources.push_back({dir_.file("other"), 1.0});
  EXPECT_CONTAINS(errorOf<UsageError>([&] { loadTokenData(o); }),
                  "vocabulary mismatch: mixture source " + dir_.file("other"));
}

}  // namespace
}  // namespace mlcp::data
