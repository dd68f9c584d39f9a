// One token shard: a file of token ids behind a fixed 136-byte header (docs/data-format.md).
//
//   offset size  field (integers little-endian)
//        0    8  magic "MLCPTOKS"
//        8    4  format version (u32) = 1
//       12    4  token width in bytes (u32): 2 (vocabulary <= 65536 pieces) or 4
//       16    8  vocabulary size (u64)
//       24    8  token count N (u64)
//       32    8  shard index (u64): the shard's place in its data set, from 0
//       40   32  vocabulary id: BLAKE2b-256 of the SentencePiece model file's bytes
//       72   32  token hash: BLAKE2b-256 of the N * width token bytes that follow the header
//      104   32  header checksum: BLAKE2b-256 of bytes [0, 104)
//      136  N*w  the tokens
//
// The file is exactly 136 + N * width bytes. Opening a shard checks everything that the header
// alone can show (size, magic, version, checksum, width, length) and throws a one-sentence error
// naming the file; verify() then streams the mapped tokens once through BLAKE2b and checks every
// id against the vocabulary — a header's hash is never trusted without that check.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "data/mapped_file.h"

namespace mlcp::data {

constexpr size_t kTokenShardHeaderBytes = 136;
constexpr uint32_t kTokenShardVersion = 1;

struct TokenShardHeader {
  uint32_t version = kTokenShardVersion;
  uint32_t token_width = 2;
  uint64_t vocab_size = 0;
  uint64_t token_count = 0;
  uint64_t shard_index = 0;
  Hash256 vocabulary_id;
  Hash256 tokens_hash;
};

// The token width for a vocabulary: 2 bytes when every id fits in uint16, else 4.
uint32_t tokenWidthFor(int64_t vocab_size);

// The 136 header bytes for `h` (the checksum is computed here).
std::string encodeTokenShardHeader(const TokenShardHeader& h);
// Parses and checks header bytes; `file_size` is the whole file's. Throws UsageError (not a
// shard, unsupported version or width, truncated) or VerificationError (checksum), naming `path`.
TokenShardHeader decodeTokenShardHeader(std::string_view bytes, uint64_t file_size,
                                        const std::string& path);

// A whole shard file in memory: header + tokens stored at `token_width` bytes each. Used by
// `mlcp data prepare` (one shard at a time) and by tests.
std::string encodeTokenShard(const std::vector<int32_t>& tokens, uint32_t token_width,
                             uint64_t vocab_size, uint64_t shard_index,
                             const Hash256& vocabulary_id);

// A mapped shard. Thread-safe for concurrent reads once constructed.
class TokenShard {
 public:
  // Maps `path` and checks its header (decodeTokenShardHeader).
  explicit TokenShard(const std::string& path);

  const TokenShardHeader& header() const { return header_; }
  const std::string& path() const { return file_.path(); }
  int64_t size() const { return static_cast<int64_t>(header_.token_count); }

  // Streams the tokens through BLAKE2b-256 and compares with the header's token hash; checks
  // every id is below the vocabulary size. Adds each token's count to `histogram` (vocab_size
  // entries) for positions below `histogram_end` (the training split), when given. Throws
  // VerificationError naming the file.
  void verify(std::vector<int64_t>* histogram = nullptr, int64_t histogram_end = 0) const;

  // Copies tokens [begin, begin + n) of this shard into `out` as int64.
  void read(int64_t begin, int64_t n, int64_t* out) const;

 private:
  MappedFile file_;
  TokenShardHeader header_;
};

}  // namespace mlcp::data
