#include "bridge/bytes.h"

#include <fmt/format.h>

#include "base/error.h"
#include "base/hex.h"

namespace mlcp::bridge {

namespace {
std::string_view stripPrefix(std::string_view hex) {
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  return hex;
}
}  // namespace

std::string toHex(const uint8_t* data, size_t size) { return "0x" + hexEncode(data, size); }

Bytes fromHex(std::string_view hex, std::string_view what) {
  std::string h(stripPrefix(hex));
  if (h.size() % 2 == 1) h.insert(h.begin(), '0');  // JSON-RPC quantities drop leading zeros
  for (char c : h) {
    if (hexDigitValue(c) < 0) throw InvalidArgument(fmt::format("{} is not hex: '{}'", what, hex));
  }
  return hexDecode(h, what);
}

template <size_t N>
std::array<uint8_t, N> fixedFromHex(std::string_view hex, std::string_view what) {
  std::string_view h = stripPrefix(hex);
  if (h.size() != 2 * N) {
    throw InvalidArgument(
        fmt::format("{} must be {} hex digits (0x-prefixed), got '{}'", what, 2 * N, hex));
  }
  Bytes b = fromHex(h, what);
  std::array<uint8_t, N> out{};
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}
template std::array<uint8_t, 20> fixedFromHex<20>(std::string_view, std::string_view);
template std::array<uint8_t, 32> fixedFromHex<32>(std::string_view, std::string_view);
template std::array<uint8_t, 65> fixedFromHex<65>(std::string_view, std::string_view);
template std::array<uint8_t, 4> fixedFromHex<4>(std::string_view, std::string_view);

uint64_t quantityToU64(std::string_view hex) {
  std::string_view h = stripPrefix(hex);
  if (h.empty() || h.size() > 16) {
    throw ChainError(fmt::format("expected a 64-bit hex quantity from the node, got '{}'", hex));
  }
  uint64_t v = 0;
  for (char c : h) {
    int n = hexDigitValue(c);
    if (n < 0)
      throw ChainError(fmt::format("expected a hex quantity from the node, got '{}'", hex));
    v = v << 4 | static_cast<uint64_t>(n);
  }
  return v;
}

std::string u64ToQuantity(uint64_t v) { return fmt::format("0x{:x}", v); }

}  // namespace mlcp::bridge
