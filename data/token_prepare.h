// `mlcp data prepare`: a text corpus to token data (docs/data-format.md), in five steps:
//   1. refuse an --out that exists; build everything in OUT.partial (refused too if it exists:
//      the remains of a prepare that did not finish, for the user to look at and remove);
//   2. the vocabulary: train one on the corpus (data/token_vocabulary.h) or take --model's;
//      write it as tokenizer.model — its BLAKE2b-256 is the vocabulary id;
//   3. encode the corpus in its fixed document order (data/corpus_lines.h), each line's ids
//      followed by the vocabulary's end-of-sentence id, into shards of `shard_tokens` tokens;
//      each shard is written and fsynced as soon as it is full, so only one is ever in memory;
//   4. write tokens.toml, the manifest, and fsync the folder;
//   5. rename OUT.partial to OUT and fsync its parent. A prepare that stops anywhere leaves no
//      OUT, never a half-written one; one that fails removes its OUT.partial.
#pragma once

#include <cstdint>
#include <string>

#include "base/digest.h"
#include "data/token_vocabulary.h"

namespace mlcp::data {

constexpr int64_t kDefaultShardTokens = int64_t{1} << 26;  // 64 Mi tokens: 128 MiB at 2 bytes

struct PrepareOptions {
  std::string corpus;  // a text file or a directory (data/text_corpus.h's corpusFiles)
  std::string out;     // the directory to create
  // Exactly one of: train a vocabulary (training.vocab_size > 0), or load `model`.
  VocabularyTraining training;
  std::string model;
  int64_t shard_tokens = kDefaultShardTokens;  // > 0
};

struct PrepareSummary {
  std::string out;
  int64_t files = 0, lines = 0, bytes = 0;  // the corpus
  int64_t tokens = 0, shards = 0;
  Hash256 vocabulary_id, content_hash;
  int64_t vocab_size = 0;
  uint32_t token_width = 0;
  bool trained = false;       // the vocabulary was trained here (else loaded)
  double train_seconds = 0;   // training the vocabulary
  double encode_seconds = 0;  // reading, encoding and writing the shards
};

// Throws UsageError for a user's mistake (a corpus or model that cannot be read, an --out that
// exists, bad sizes), IoError when writing fails.
PrepareSummary prepareTokenData(const PrepareOptions& options);

}  // namespace mlcp::data
