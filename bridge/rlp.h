// RLP (Recursive Length Prefix), Ethereum's serialisation of nested byte strings, as specified
// in the Yellow Paper appendix B: a single byte < 0x80 is itself; a string of 0..55 bytes is
// 0x80+len then the bytes; longer strings 0xb7+len(len) then len (big-endian) then the bytes;
// lists likewise with 0xc0 / 0xf7 over the concatenated encodings of their items. Integers are
// big-endian byte strings without leading zeros (zero is the empty string).
#pragma once

#include <string_view>
#include <variant>
#include <vector>

#include "bridge/bytes.h"
#include "bridge/u256.h"

namespace mlcp::bridge::rlp {

Bytes encodeString(const uint8_t* data, size_t size);
inline Bytes encodeString(const Bytes& b) { return encodeString(b.data(), b.size()); }
inline Bytes encodeString(std::string_view s) {
  return encodeString(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline Bytes encodeUint(const U256& v) { return encodeString(v.toMinimalBytes()); }
// A list whose items are already RLP-encoded.
Bytes encodeList(const std::vector<Bytes>& encoded_items);

// A decoded item: a byte string or a list of items.
struct Item {
  bool is_list = false;
  Bytes bytes;              // when !is_list
  std::vector<Item> items;  // when is_list
};

// Decodes exactly one item spanning all of `data`; throws InvalidArgument on malformed or
// non-canonical input (trailing bytes, lengths past the end, non-minimal length prefixes).
Item decode(const Bytes& data);

}  // namespace mlcp::bridge::rlp
