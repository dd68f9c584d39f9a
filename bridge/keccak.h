// Keccak-256 as Ethereum uses it (the original Keccak padding, not NIST SHA3-256): addresses,
// transaction hashes, function selectors and event topics. Backed by Crypto++ (OpenSSL 3.0 has
// only SHA3, whose padding differs; see shared/notes/chain.md).
#pragma once

#include <string_view>

#include "bridge/bytes.h"

namespace mlcp::bridge {

Hash32 keccak256(const uint8_t* data, size_t size);
inline Hash32 keccak256(const Bytes& b) { return keccak256(b.data(), b.size()); }
inline Hash32 keccak256(std::string_view s) {
  return keccak256(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace mlcp::bridge
