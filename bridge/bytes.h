// Byte strings and hex for the chain client. Ethereum's JSON-RPC writes every byte string and
// every quantity as 0x-prefixed hex; these helpers are the one place that parses and prints it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mlcp::bridge {

using Bytes = std::vector<uint8_t>;
using Hash32 = std::array<uint8_t, 32>;
using Address = std::array<uint8_t, 20>;

// Lower-case hex with a "0x" prefix ("0x" for no bytes).
std::string toHex(const uint8_t* data, size_t size);
inline std::string toHex(const Bytes& b) { return toHex(b.data(), b.size()); }
template <size_t N>
std::string toHex(const std::array<uint8_t, N>& a) {
  return toHex(a.data(), a.size());
}

// Parses hex with or without "0x" (an odd digit count gets a leading zero nibble, as JSON-RPC
// quantities may have). Throws InvalidArgument naming `what` on a non-hex character.
Bytes fromHex(std::string_view hex, std::string_view what = "hex string");

// Exactly N bytes of hex; throws InvalidArgument naming `what` otherwise.
template <size_t N>
std::array<uint8_t, N> fixedFromHex(std::string_view hex, std::string_view what);

// JSON-RPC quantity ("0x1a") to uint64; throws ChainError when it does not fit.
uint64_t quantityToU64(std::string_view hex);
// uint64 to a JSON-RPC quantity: "0x0", "0x1a" (no leading zeros, as the spec requires).
std::string u64ToQuantity(uint64_t v);

inline Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
inline Bytes toBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
template <size_t N>
Bytes toBytes(const std::array<uint8_t, N>& a) {
  return Bytes(a.begin(), a.end());
}

}  // namespace mlcp::bridge
