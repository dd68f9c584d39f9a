#include "base/digest.h"

#include "base/hex.h"
#include "base/sodium.h"

namespace mlcp {

std::string Hash256::hex() const { return hexEncode(bytes.data(), bytes.size()); }

Hash256 Hash256::fromHex(std::string_view hex) {
  Hash256 h;
  hexDecodeInto(hex, h.bytes.data(), h.bytes.size(), "a hash");
  return h;
}

Blake2b256::Blake2b256() {
  ensureSodium();
  crypto_generichash_init(&state_, nullptr, 0, 32);
}

void Blake2b256::update(const void* data, size_t bytes) {
  // crypto_generichash_update takes unsigned long long; feed in bounded pieces anyway.
  const auto* p = static_cast<const unsigned char*>(data);
  constexpr size_t kPiece = size_t{1} << 30;
  while (bytes > 0) {
    size_t n = bytes < kPiece ? bytes : kPiece;
    crypto_generichash_update(&state_, p, n);
    p += n;
    bytes -= n;
  }
}

void Blake2b256::updateLe64(uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  update(b, 8);
}

Hash256 Blake2b256::finish() {
  Hash256 h;
  crypto_generichash_final(&state_, h.bytes.data(), h.bytes.size());
  return h;
}

Hash256 blake2b256(const void* data, size_t bytes) {
  Blake2b256 h;
  h.update(data, bytes);
  return h.finish();
}

Hash256 chainHash(const Hash256& prev, const Hash256& next) {
  Blake2b256 h;
  h.update(prev.bytes.data(), prev.bytes.size());
  h.update(next.bytes.data(), next.bytes.size());
  return h.finish();
}

}  // namespace mlcp
