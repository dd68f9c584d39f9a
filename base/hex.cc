#include "base/hex.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/error.h"

namespace mlcp {

std::string hexEncode(const uint8_t* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(2 * size, '0');
  for (size_t i = 0; i < size; ++i) {
    s[2 * i] = kDigits[data[i] >> 4];
    s[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return s;
}

int hexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<uint8_t> hexDecode(std::string_view hex, std::string_view what) {
  if (hex.size() % 2 != 0) {
    throw InvalidArgument(
        fmt::format("{} has an odd number of hex digits ({}): '{}'", what, hex.size(), hex));
  }
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = hexDigitValue(hex[2 * i]), lo = hexDigitValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) throw InvalidArgument(fmt::format("{} is not hex: '{}'", what, hex));
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

void hexDecodeInto(std::string_view hex, uint8_t* out, size_t size, std::string_view what) {
  if (hex.size() != 2 * size) {
    throw InvalidArgument(fmt::format("{} must be {} hex digits, got {} characters: '{}'", what,
                                      2 * size, hex.size(), hex));
  }
  const auto bytes = hexDecode(hex, what);
  std::copy(bytes.begin(), bytes.end(), out);
}

}  // namespace mlcp
