// BLAKE2b-256 (libsodium crypto_generichash: 32-byte digest, no key) and the 32-byte digest
// type every subsystem uses: tensor hashes and Merkle roots (verify/), the state chain
// (runtime/), a data set's content hash (data/).
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mlcp {

// A 32-byte digest. Printed and parsed as 64 lowercase hex digits.
struct Hash256 {
  std::array<uint8_t, 32> bytes{};

  std::string hex() const;
  // Throws InvalidArgument unless `hex` is exactly 64 hex digits (either case).
  static Hash256 fromHex(std::string_view hex);

  bool operator==(const Hash256& o) const { return bytes == o.bytes; }
  bool operator!=(const Hash256& o) const { return bytes != o.bytes; }
  bool operator<(const Hash256& o) const { return bytes < o.bytes; }
};

// Streaming BLAKE2b-256 (for tensors larger than one buffer, and for the Merkle tree).
class Blake2b256 {
 public:
  Blake2b256();
  void update(const void* data, size_t bytes);
  void update(std::string_view s) { update(s.data(), s.size()); }
  void updateU8(uint8_t v) { update(&v, 1); }
  void updateLe64(uint64_t v);
  // Finishes the digest; the object must not be used afterwards.
  Hash256 finish();

 private:
  crypto_generichash_state state_;
};

Hash256 blake2b256(const void* data, size_t bytes);
inline Hash256 blake2b256(std::string_view s) { return blake2b256(s.data(), s.size()); }

// One link of a hash chain: BLAKE2b-256(prev || next) over the two 32-byte digests. The
// per-step state chain (runtime/state_chain.h) and the operator prefix chain of a dispute
// (runtime/operator_trace.h) are both built from it.
Hash256 chainHash(const Hash256& prev, const Hash256& next);

}  // namespace mlcp
