#include "bridge/bytes.h"

#include <fmt/format.h>

#include "runtime/error.h"

namespace mlcp::bridge {

namespace {
int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
std::string_view stripPrefix(std::string_view hex) {
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  return hex;
}
}  // namespace

std::string toHex(const uint8_t* data, size_t size) {
  static const char* kDigits = "0123456789abcdef";
  std::string out = "0x";
  out.reserve(2 + 2 * size);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 15]);
  }
  return out;
}

Bytes fromHex(std::string_view hex, std::string_view what) {
  std::string_view h = stripPrefix(hex);
  Bytes out;
  out.reserve(h.size() / 2 + 1);
  size_t i = 0;
  if (h.size() % 2 == 1) {
    int lo = nibble(h[0]);
    if (lo < 0) throw InvalidArgument(fmt::format("{} is not hex: '{}'", what, hex));
    out.push_back(static_cast<uint8_t>(lo));
    i = 1;
  }
  for (; i < h.size(); i += 2) {
    int hi = nibble(h[i]);
    int lo = nibble(h[i + 1]);
    if (hi < 0 || lo < 0) throw InvalidArgument(fmt::format("{} is not hex: '{}'", what, hex));
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
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
    int n = nibble(c);
    if (n < 0)
      throw ChainError(fmt::format("expected a hex quantity from the node, got '{}'", hex));
    v = v << 4 | static_cast<uint64_t>(n);
  }
  return v;
}

std::string u64ToQuantity(uint64_t v) { return fmt::format("0x{:x}", v); }

}  // namespace mlcp::bridge
