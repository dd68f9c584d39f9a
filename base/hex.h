// Hexadecimal text for bytes: the one encoder and decoder every subsystem uses (hashes and roots
// in manifests and metrics, node keys, the chain client's 0x-prefixed strings).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mlcp {

// Lower-case hex, two digits per byte, no prefix ("" for no bytes).
std::string hexEncode(const uint8_t* data, size_t size);
inline std::string hexEncode(std::string_view bytes) {
  return hexEncode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// The value of one hex digit (either case), or -1 for any other character.
int hexDigitValue(char c);

// Decodes an even number of hex digits (either case, no prefix). Throws InvalidArgument naming
// `what` and quoting the text on an odd length or a non-hex character.
std::vector<uint8_t> hexDecode(std::string_view hex, std::string_view what = "hex string");

// Decodes exactly `size` bytes into `out`; throws InvalidArgument naming `what` unless `hex` is
// exactly 2 x `size` hex digits.
void hexDecodeInto(std::string_view hex, uint8_t* out, size_t size, std::string_view what);

}  // namespace mlcp
