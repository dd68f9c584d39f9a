#include "data/token_shard.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "base/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "token shards are little-endian and read in place");

namespace mlcp::data {
namespace {

constexpr char kMagic[8] = {'M', 'L', 'C', 'P', 'T', 'O', 'K', 'S'};
constexpr size_t kChecksummedBytes = 104;  // the header before its checksum

void putLe(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint64_t getLe(std::string_view in, size_t offset, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) {
    v = (v << 8) | static_cast<uint8_t>(in[offset + static_cast<size_t>(i)]);
  }
  return v;
}

Hash256 getHash(std::string_view in, size_t offset) {
  Hash256 h;
  std::memcpy(h.bytes.data(), in.data() + offset, h.bytes.size());
  return h;
}

// Token i of a little-endian array of `width`-byte ids.
inline uint32_t tokenAt(const uint8_t* p, uint32_t width, size_t i) {
  if (width == 2) {
    uint16_t v;
    std::memcpy(&v, p + i * 2, 2);
    return v;
  }
  uint32_t v;
  std::memcpy(&v, p + i * 4, 4);
  return v;
}

}  // namespace

uint32_t tokenWidthFor(int64_t vocab_size) { return vocab_size <= 65536 ? 2 : 4; }

std::string encodeTokenShardHeader(const TokenShardHeader& h) {
  std::string out(kMagic, sizeof(kMagic));
  putLe(out, h.version, 4);
  putLe(out, h.token_width, 4);
  putLe(out, h.vocab_size, 8);
  putLe(out, h.token_count, 8);
  putLe(out, h.shard_index, 8);
  out.append(reinterpret_cast<const char*>(h.vocabulary_id.bytes.data()), 32);
  out.append(reinterpret_cast<const char*>(h.tokens_hash.bytes.data()), 32);
  const Hash256 check = blake2b256(out.data(), out.size());
  out.append(reinterpret_cast<const char*>(check.bytes.data()), 32);
  return out;
}

TokenShardHeader decodeTokenShardHeader(std::string_view bytes, uint64_t file_size,
                                        const std::string& path) {
  if (file_size < kTokenShardHeaderBytes || bytes.size() < kTokenShardHeaderBytes) {
    throw UsageError(
        fmt::format("token shard {} is truncated: {} bytes, shorter than the {}-byte "
                    "header",
                    path, file_size, kTokenShardHeaderBytes));
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    throw UsageError(
        fmt::format("{} is not an mlcp token shard (its first 8 bytes are not "
                    "\"MLCPTOKS\"; docs/data-format.md)",
                    path));
  }
  TokenShardHeader h;
  h.version = static_cast<uint32_t>(getLe(bytes, 8, 4));
  if (h.version != kTokenShardVersion) {
    throw UsageError(
        fmt::format("token shard {} has format version {}; this mlcp reads version "
                    "{} (prepare the data again with this mlcp)",
                    path, h.version, kTokenShardVersion));
  }
  const Hash256 check = blake2b256(bytes.data(), kChecksummedBytes);
  if (check != getHash(bytes, kChecksummedBytes)) {
    throw VerificationError(fmt::format(
        "token shard {} is corrupt: its header checksum does not match its header", path));
  }
  h.token_width = static_cast<uint32_t>(getLe(bytes, 12, 4));
  h.vocab_size = getLe(bytes, 16, 8);
  h.token_count = getLe(bytes, 24, 8);
  h.shard_index = getLe(bytes, 32, 8);
  h.vocabulary_id = getHash(bytes, 40);
  h.tokens_hash = getHash(bytes, 72);
  if (h.token_width != 2 && h.token_width != 4) {
    throw UsageError(
        fmt::format("token shard {} declares a token width of {} bytes; the format "
                    "has 2 and 4",
                    path, h.token_width));
  }
  if (h.vocab_size == 0 || h.vocab_size > (uint64_t{1} << 31) ||
      h.token_width != tokenWidthFor(static_cast<int64_t>(h.vocab_size))) {
    throw UsageError(
        fmt::format("token shard {} declares a vocabulary of {} pieces stored in {} "
                    "bytes per token, which the format does not allow",
                    path, h.vocab_size, h.token_width));
  }
  const uint64_t payload = file_size - kTokenShardHeaderBytes;
  if (h.token_count > payload / h.token_width || payload != h.token_count * h.token_width) {
    throw UsageError(fmt::format(
        "token shard {} is truncated or padded: its header declares {} tokens of {} bytes, the "
        "file holds {} bytes after the header",
        path, h.token_count, h.token_width, payload));
  }
  return h;
}

std::string encodeTokenShard(const std::vector<int32_t>& tokens, uint32_t token_width,
                             uint64_t vocab_size, uint64_t shard_index,
                             const Hash256& vocabulary_id) {
  std::string payload(tokens.size() * token_width, '\0');
  auto* p = reinterpret_cast<uint8_t*>(payload.data());
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto v = static_cast<uint32_t>(tokens[i]);
    if (token_width == 2) {
      const auto w = static_cast<uint16_t>(v);
      std::memcpy(p + i * 2, &w, 2);
    } else {
      std::memcpy(p + i * 4, &v, 4);
    }
  }
  TokenShardHeader h;
  h.token_width = token_width;
  h.vocab_size = vocab_size;
  h.token_count = tokens.size();
  h.shard_index = shard_index;
  h.vocabulary_id = vocabulary_id;
  h.tokens_hash = blake2b256(payload.data(), payload.size());
  return encodeTokenShardHeader(h) + payload;
}

TokenShard::TokenShard(const std::string& path) : file_(path) {
  const std::string_view bytes(reinterpret_cast<const char*>(file_.data()),
                               std::min(file_.size(), kTokenShardHeaderBytes));
  header_ = decodeTokenShardHeader(bytes, file_.size(), path);
}

void TokenShard::verify(std::vector<int64_t>* histogram, int64_t histogram_end) const {
  const uint8_t* tokens = file_.data() + kTokenShardHeaderBytes;
  const uint32_t width = header_.token_width;
  const auto n = static_cast<size_t>(header_.token_count);
  const auto end =
      histogram != nullptr
          ? static_cast<size_t>(std::clamp<int64_t>(histogram_end, 0, static_cast<int64_t>(n)))
          : 0;
  require(histogram == nullptr || histogram->size() >= header_.vocab_size,
          "histogram smaller than the vocabulary");
  file_.adviseSequential();
  Blake2b256 hash;
  uint32_t largest = 0;
  size_t largest_at = 0;
  constexpr size_t kChunk = size_t{1} << 20;  // tokens per pass: hash and scan stay in cache
  for (size_t begin = 0; begin < n; begin += kChunk) {
    const size_t count = std::min(kChunk, n - begin);
    hash.update(tokens + begin * width, count * width);
    for (size_t i = begin; i < begin + count; ++i) {
      const uint32_t t = tokenAt(tokens, width, i);
      if (t > largest) largest = t, largest_at = i;
      if (i < end && t < header_.vocab_size) ++(*histogram)[t];
    }
  }
  file_.adviseRandom();
  if (hash.finish() != header_.tokens_hash) {
    throw VerificationError(fmt::format(
        "token shard {} is corrupt: its {} tokens do not match the token hash in its header",
        path(), n));
  }
  if (n > 0 && largest >= header_.vocab_size) {
    throw VerificationError(fmt::format(
        "token shard {} holds token id {} at position {}, outside its vocabulary of {} pieces",
        path(), largest, largest_at, header_.vocab_size));
  }
}

void TokenShard::read(int64_t begin, int64_t n, int64_t* out) const {
  require(begin >= 0 && n >= 0 && begin + n <= size(), "token range outside the shard");
  const uint8_t* tokens = file_.data() + kTokenShardHeaderBytes;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = tokenAt(tokens, header_.token_width, static_cast<size_t>(begin + i));
  }
}

}  // namespace mlcp::data
