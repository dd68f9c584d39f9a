#include "data/token_prepare.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "base/durable_file.h"
#include "base/error.h"
#include "data/corpus_lines.h"
#include "data/token_data.h"
#include "data/token_shard.h"

namespace fs = std::filesystem;

namespace mlcp::data {
namespace {

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// OUT.partial while a prepare runs: removed on destruction unless published.
class PartialDir {
 public:
  explicit PartialDir(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    if (!fs::create_directories(path_, ec) || ec) {
      throw IoError(fmt::format("cannot create {}: {}", path_, ec ? ec.message() : "it exists"));
    }
  }
  ~PartialDir() {
    if (published_) return;
    std::error_code ec;
    fs::remove_all(path_, ec);  // best effort: an error is already on its way up
  }
  PartialDir(const PartialDir&) = delete;
  PartialDir& operator=(const PartialDir&) = delete;

  std::string file(const std::string& name) const { return (fs::path(path_) / name).string(); }
  // Step 5: the folder becomes `out`.
  void publish(const std::string& out) {
    syncPath(path_, /*directory=*/true);
    renamePath(path_, out);
    published_ = true;
    syncParentDir(out);
  }

 private:
  std::string path_;
  bool published_ = false;
};

// The shard being filled: its token bytes, written out when full.
class ShardBuilder {
 public:
  ShardBuilder(const TokenVocabulary& vocabulary, int64_t shard_tokens)
      : vocabulary_(vocabulary), width_(tokenWidthFor(vocabulary.size())), capacity_(shard_tokens) {
    payload_.reserve(static_cast<size_t>(capacity_) * width_);
  }

  // Adds ids, writing full shards into `dir` as they fill.
  void add(const std::vector<int>& ids, const PartialDir& dir) {
    for (int id : ids) {
      const auto v = static_cast<uint32_t>(id);
      payload_.append(reinterpret_cast<const char*>(&v), width_);  // little-endian low bytes
      if (++count_ == capacity_) flush(dir);
    }
  }

  // Writes the shard being filled, if it holds any token.
  void flush(const PartialDir& dir) {
    if (count_ == 0) return;
    TokenShardEntry e;
    e.file = fmt::format("shard-{:05d}.tok", shards_.size());
    e.tokens = count_;
    e.hash = blake2b256(payload_.data(), payload_.size());
    TokenShardHeader h;
    h.token_width = width_;
    h.vocab_size = static_cast<uint64_t>(vocabulary_.size());
    h.token_count = static_cast<uint64_t>(count_);
    h.shard_index = shards_.size();
    h.vocabulary_id = vocabulary_.id();
    h.tokens_hash = e.hash;
    const std::string path = dir.file(e.file);
    FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd.valid()) {
      throw IoError(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
    }
    writeAll(fd.get(), encodeTokenShardHeader(h), path);
    writeAll(fd.get(), payload_, path);
    syncFile(fd.get(), path);
    shards_.push_back(std::move(e));
    payload_.clear();
    count_ = 0;
  }

  uint32_t width() const { return width_; }
  const std::vector<TokenShardEntry>& shards() const { return shards_; }

 private:
  const TokenVocabulary& vocabulary_;
  uint32_t width_;
  int64_t capacity_, count_ = 0;
  std::string payload_;
  std::vector<TokenShardEntry> shards_;
};

}  // namespace

PrepareSummary prepareTokenData(const PrepareOptions& o) {
  const bool train = o.training.vocab_size > 0;
  if (train == !o.model.empty()) {
    throw UsageError(
        "mlcp data prepare: give exactly one of --vocab-size N (train a vocabulary) "
        "and --model FILE (use an existing SentencePiece model)");
  }
  if (o.shard_tokens <= 0) {
    throw UsageError(fmt::format("--shard-tokens must be at least 1, got {}", o.shard_tokens));
  }
  if (o.out.empty()) throw UsageError("mlcp data prepare: --out DIR is required");
  // Step 1.
  std::error_code ec;
  const std::string out = fs::path(o.out).lexically_normal().string();
  if (fs::exists(out, ec)) {
    throw UsageError(
        fmt::format("{} already exists: prepared token data is never overwritten "
                    "(remove it, or choose another --out)",
                    out));
  }
  const std::string partial_path = out + ".partial";
  if (fs::exists(partial_path, ec)) {
    throw UsageError(
        fmt::format("{} exists: the remains of a prepare that did not finish? "
                    "Remove it and prepare again",
                    partial_path));
  }
  CorpusLines lines(o.corpus);  // a missing or empty corpus is refused before any work
  PartialDir partial(partial_path);

  // Step 2.
  PrepareSummary s;
  const auto t0 = std::chrono::steady_clock::now();
  TokenVocabulary vocabulary =
      train ? TokenVocabulary::fromBytes(trainVocabulary(o.corpus, o.training),
                                         "the vocabulary SentencePiece trained")
            : TokenVocabulary::load(o.model);
  s.trained = train;
  s.train_seconds = train ? secondsSince(t0) : 0.0;
  writeFileDurably(partial.file(kTokenizerFile), vocabulary.bytes());

  // Step 3.
  const auto t1 = std::chrono::steady_clock::now();
  ShardBuilder shards(vocabulary, o.shard_tokens);
  std::string line;
  std::vector<int> ids;
  const std::vector<int> eos =
      vocabulary.eosId() >= 0 ? std::vector<int>{vocabulary.eosId()} : std::vector<int>{};
  while (lines.next(&line)) {
    vocabulary.encode(line, &ids);
    shards.add(ids, partial);
    shards.add(eos, partial);
    s.tokens += static_cast<int64_t>(ids.size() + eos.size());
  }
  shards.flush(partial);
  if (s.tokens == 0) {
    throw UsageError(fmt::format("text corpus {} holds no text to tokenize", o.corpus));
  }
  s.encode_seconds = secondsSince(t1);

  // Step 4.
  TokenManifest m;
  m.vocabulary_id = vocabulary.id();
  m.vocab_size = vocabulary.size();
  m.eos_id = vocabulary.eosId();
  m.token_width = shards.width();
  m.tokens = s.tokens;
  m.shards = shards.shards();
  m.content_hash = tokenContentHash(m.vocabulary_id, m.token_width, m.shards);
  m.corpus_path = fs::absolute(o.corpus, ec).lexically_normal().string();
  m.corpus_files = static_cast<int64_t>(lines.files().size());
  m.corpus_lines = lines.lines();
  m.corpus_bytes = lines.bytes();
  writeFileDurably(partial.file(kTokenManifestFile), m.toToml());

  // Step 5.
  partial.publish(out);

  s.out = out;
  s.files = m.corpus_files;
  s.lines = m.corpus_lines;
  s.bytes = m.corpus_bytes;
  s.shards = static_cast<int64_t>(m.shards.size());
  s.vocabulary_id = m.vocabulary_id;
  s.content_hash = m.content_hash;
  s.vocab_size = m.vocab_size;
  s.token_width = m.token_width;
  return s;
}

}  // namespace mlcp::data
