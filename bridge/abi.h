// The Solidity contract ABI (docs.soliditylang.org, "Contract ABI Specification"): encoding of
// call arguments and return values, and function/error/event selectors.
//
// Types are parsed from their canonical names ("uint256", "address[]", "(uint64,bytes32)[2]").
// A Value is an untyped container read according to its Type:
//   uint<N>/int<N>/bool  -> word (int<N> in two's complement; bool is 0 or 1)
//   address              -> bytes (20 bytes)
//   bytes<N>             -> bytes (exactly N bytes)
//   bytes/string         -> bytes (string as UTF-8)
//   T[], T[k], tuples    -> items
// Encoding checks that each value fits its type (InvalidArgument otherwise); decoding checks
// every offset and length against the data (ChainError on malformed return data, since it came
// from a node).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/bytes.h"
#include "bridge/u256.h"

namespace mlcp::bridge::abi {

struct Type {
  enum class Kind {
    kUint,
    kInt,
    kAddress,
    kBool,
    kFixedBytes,
    kBytes,
    kString,
    kArray,
    kFixedArray,
    kTuple
  };
  Kind kind = Kind::kUint;
  unsigned size = 256;           // bits for uint/int, bytes for bytes<N>, length for T[k]
  std::vector<Type> components;  // the element type (arrays) or the members (tuples)

  static Type parse(std::string_view canonical);
  std::string canonical() const;
  bool isDynamic() const;
  // Bytes this type takes in the head of an enclosing tuple (32 for dynamic types).
  size_t headSize() const;
};

struct Value {
  U256 word;
  Bytes bytes;
  std::vector<Value> items;

  static Value uint(const U256& v) { return Value{v, {}, {}}; }
  static Value int64(int64_t v) { return Value{U256::fromInt64(v), {}, {}}; }
  static Value boolean(bool b) { return Value{U256(b ? 1u : 0u), {}, {}}; }
  static Value address(const Address& a) { return Value{{}, Bytes(a.begin(), a.end()), {}}; }
  static Value fixedBytes(const Hash32& h) { return Value{{}, Bytes(h.begin(), h.end()), {}}; }
  static Value bytesValue(Bytes b) { return Value{{}, std::move(b), {}}; }
  static Value string(std::string_view s) { return Value{{}, Bytes(s.begin(), s.end()), {}}; }
  static Value list(std::vector<Value> items) { return Value{{}, {}, std::move(items)}; }

  Address asAddress() const;
  Hash32 asBytes32() const;
  std::string asString() const { return std::string(bytes.begin(), bytes.end()); }
  bool asBool() const { return !word.isZero(); }
};

// "transfer(address,uint256)" -> the first 4 bytes of its Keccak-256.
std::array<uint8_t, 4> selector(std::string_view signature);
// The parameter types of a signature "name(t1,t2,...)".
std::vector<Type> parameterTypes(std::string_view signature);

// Encodes values as the tuple (types...).
Bytes encode(const std::vector<Type>& types, const std::vector<Value>& values);
// selector(signature) || encode(parameter types, values).
Bytes encodeCall(std::string_view signature, const std::vector<Value>& values);
// Decodes `data` as the tuple (types...).
std::vector<Value> decode(const std::vector<Type>& types, const uint8_t* data, size_t size);
inline std::vector<Value> decode(const std::vector<Type>& types, const Bytes& data) {
  return decode(types, data.data(), data.size());
}

// A value read from text for the command line: decimal/hex integers (uints also "1.5ether"),
// addresses (EIP-55 checksum checked when mixed-case), 0x-hex bytes, true/false, strings as
// they are, arrays as JSON arrays. Throws UsageError naming `what` on a mismatch.
Value parseValue(const Type& type, std::string_view text, std::string_view what);
// A readable rendering: decimals, 0x-hex bytes, checksummed addresses, [a, b] for arrays.
std::string format(const Type& type, const Value& value);

}  // namespace mlcp::bridge::abi
