// Token data: a directory `mlcp data prepare` wrote, read for training (docs/data-format.md).
//
//   DIR/tokens.toml       the manifest: vocabulary (id, size, file), token width, token count,
//                         the shards in order with their token counts and token hashes, and
//                         the content hash
//   DIR/tokenizer.model   the SentencePiece model the tokens were encoded with
//   DIR/shard-NNNNN.tok   token shards (data/token_shard.h)
//
// The tokens of a directory form one stream: the shards in manifest order. Its content hash is
//
//   BLAKE2b-256("mlcp-tokens v1\n" || vocabulary id || le64 token width || le64 shard count ||
//               for each shard: le64 token count || token hash)
//
// computed from the manifest's shard list, whose token hashes are checked against the shards'
// bytes when the directory is opened for training (TokenSource: every byte is read and hashed
// once, streaming over the mapped files, before the first step). So the hash covers every token
// and the vocabulary without holding the data in memory, and a corrupt byte is an error at
// start, never a silent change or a crash hours into a run.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/digest.h"
#include "data/dataset.h"
#include "data/token_shard.h"

namespace mlcp::data {

constexpr const char* kTokenManifestFile = "tokens.toml";
constexpr const char* kTokenizerFile = "tokenizer.model";
constexpr const char* kTokenFormat = "mlcp-tokens";
constexpr int64_t kTokenFormatVersion = 1;

struct TokenShardEntry {
  std::string file;  // relative to the directory
  int64_t tokens = 0;
  Hash256 hash;  // BLAKE2b-256 of the shard's token bytes (its header's token hash)
};

// DIR/tokens.toml.
struct TokenManifest {
  Hash256 vocabulary_id;
  int64_t vocab_size = 0;
  int64_t eos_id = -1;  // appended after every corpus line; -1 = the model has none
  std::string tokenizer_file = kTokenizerFile;
  uint32_t token_width = 2;
  int64_t tokens = 0;
  std::vector<TokenShardEntry> shards;
  Hash256 content_hash;
  // What it was prepared from (informational: not checked, not hashed).
  std::string corpus_path;
  int64_t corpus_files = 0, corpus_lines = 0, corpus_bytes = 0;

  std::string toToml() const;
  // Reads DIR/tokens.toml. Throws UsageError naming the file and the field when it is missing,
  // not TOML, of another format or version, or a field is absent or mistyped.
  static TokenManifest read(const std::string& dir);
};

// The content hash of a token stream (the formula above).
Hash256 tokenContentHash(const Hash256& vocabulary_id, uint32_t token_width,
                         const std::vector<TokenShardEntry>& shards);

// One prepared directory as a job reads it: verified, and split into training tokens (the
// first) and held-out tokens (the last floor(tokens * holdout_fraction)).
class TokenSource {
 public:
  // Opens `dir` and checks, in order, throwing one sentence that names the file:
  //   1. tokens.toml is a version 1 token manifest;
  //   2. tokenizer.model hashes to the manifest's vocabulary id and is a SentencePiece model of
  //      the manifest's size;
  //   3. every shard's header is sound (data/token_shard.h) and matches the manifest: the same
  //      vocabulary id ("a vocabulary mismatch"), width, index, token count and token hash;
  //   4. every shard's token bytes hash to its token hash and every id is in the vocabulary;
  //   5. the manifest's content hash equals the one recomputed from the shards.
  // Also counts the training tokens' unigram histogram (for the loss baseline).
  TokenSource(const std::string& dir, double holdout_fraction);

  const std::string& dir() const { return dir_; }
  const TokenManifest& manifest() const { return manifest_; }
  int64_t tokens() const { return manifest_.tokens; }
  int64_t trainTokens() const { return train_tokens_; }
  const std::vector<int64_t>& trainHistogram() const { return histogram_; }

  // Copies tokens [pos, pos + n) of the stream into `out` (as int64), across shard boundaries.
  void read(int64_t pos, int64_t n, int64_t* out) const;

 private:
  std::string dir_;
  TokenManifest manifest_;
  std::vector<TokenShard> shards_;
  std::vector<int64_t> starts_;  // stream position of each shard's first token
  int64_t train_tokens_ = 0;
  std::vector<int64_t> histogram_;
};

// Examples of a token stream: window i of a split starting at token `begin` is the context+1
// tokens at begin + i*context; input = the first context, target = the last context (shifted).
class TokenWindows : public Dataset {
 public:
  TokenWindows(std::shared_ptr<const TokenSource> source, int64_t begin, int64_t windows,
               int64_t context, std::string name);
  int64_t size() const override { return windows_; }
  Batch batch(const std::vector<int64_t>& indices) const override;
  std::string describe() const override;

 private:
  std::shared_ptr<const TokenSource> source_;
  int64_t begin_, windows_, context_;
  std::string name_;
};

struct TokenDataOptions {
  struct Source {
    std::string path;
    double weight = 1.0;
  };
  std::vector<Source> sources;  // one, or a mixture (data/data_mixture.h)
  std::string vocabulary;       // "" or the id (hex) every source must have
  int64_t context = 0;
  double holdout_fraction = 0.05;
  int64_t train_limit = 0, eval_limit = 0;  // 0 = all; N = the first N windows
  uint64_t seed = 0;                        // the job's seed: the mixture's draws
};

// The train and held-out splits of a job's token data. Every source is opened as TokenSource
// (verified); all must share one vocabulary — and it must be `vocabulary` when that is set —
// else UsageError naming both. One source: its windows; several: a MixtureDataset of each
// split. content_hash: one source's content hash, or for a mixture
//   BLAKE2b-256("mlcp-token-mixture v1\n" || le64 source count || each source's content hash).
DataSplits loadTokenData(const TokenDataOptions& options);

}  // namespace mlcp::data
