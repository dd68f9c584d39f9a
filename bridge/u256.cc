#include "bridge/u256.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/error.h"

namespace mlcp::bridge {

using u128 = unsigned __int128;

U256 operator+(const U256& a, const U256& b) {
  U256 r;
  uint64_t carry = 0;
  for (int i = 0; i < 4; ++i) {
    u128 s = static_cast<u128>(a.limbs_[i]) + b.limbs_[i] + carry;
    r.limbs_[i] = static_cast<uint64_t>(s);
    carry = static_cast<uint64_t>(s >> 64);
  }
  return r;
}

U256 operator-(const U256& a, const U256& b) {
  U256 r;
  uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) {
    u128 d = static_cast<u128>(a.limbs_[i]) - b.limbs_[i] - borrow;
    r.limbs_[i] = static_cast<uint64_t>(d);
    borrow = (d >> 64) != 0 ? 1 : 0;
  }
  return r;
}

U256 operator*(const U256& a, const U256& b) {
  U256 r;
  for (int i = 0; i < 4; ++i) {
    uint64_t carry = 0;
    for (int j = 0; i + j < 4; ++j) {
      u128 p = static_cast<u128>(a.limbs_[i]) * b.limbs_[j] + r.limbs_[i + j] + carry;
      r.limbs_[i + j] = static_cast<uint64_t>(p);
      carry = static_cast<uint64_t>(p >> 64);
    }
  }
  return r;
}

bool operator<(const U256& a, const U256& b) {
  for (int i = 3; i >= 0; --i) {
    if (a.limbs_[i] != b.limbs_[i]) return a.limbs_[i] < b.limbs_[i];
  }
  return false;
}

U256 U256::divSmall(uint64_t d, uint64_t* rem) const {
  require(d != 0, "U256::divSmall by zero");
  U256 q;
  u128 r = 0;
  for (int i = 3; i >= 0; --i) {
    u128 cur = (r << 64) | limbs_[i];
    q.limbs_[i] = static_cast<uint64_t>(cur / d);
    r = cur % d;
  }
  if (rem) *rem = static_cast<uint64_t>(r);
  return q;
}

U256 U256::checkedAdd(const U256& a, const U256& b) {
  U256 r = a + b;
  if (r < a) throw InvalidArgument("256-bit addition overflowed");
  return r;
}

U256 U256::checkedSub(const U256& a, const U256& b) {
  if (a < b) throw InvalidArgument("256-bit subtraction went below zero");
  return a - b;
}

U256 U256::parse(std::string_view text, std::string_view what) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    Bytes b = fromHex(text, what);
    // Drop leading zero bytes; more than 32 significant bytes do not fit.
    size_t first = 0;
    while (first < b.size() && b[first] == 0) ++first;
    if (b.size() - first > 32) throw InvalidArgument(fmt::format("{} does not fit 256 bits", what));
    return fromBigEndian(b.data() + first, b.size() - first);
  }
  if (text.empty()) throw InvalidArgument(fmt::format("{} is empty", what));
  U256 r;
  for (char c : text) {
    if (c < '0' || c > '9') {
      throw InvalidArgument(
          fmt::format("{} must be a decimal or 0x-hex integer, got '{}'", what, text));
    }
    U256 next = r * U256(10) + U256(static_cast<uint64_t>(c - '0'));
    if (next.divSmall(10) != r)
      throw InvalidArgument(fmt::format("{} does not fit 256 bits", what));
    r = next;
  }
  return r;
}

U256 U256::parseAmount(std::string_view text, std::string_view what) {
  struct Unit {
    const char* name;
    int decimals;
  };
  static const Unit kUnits[] = {{"ether", 18}, {"eth", 18}, {"gwei", 9}, {"wei", 0}};
  int decimals = 0;
  std::string_view num = text;
  for (const Unit& u : kUnits) {
    std::string_view n(u.name);
    if (num.size() > n.size() && num.substr(num.size() - n.size()) == n) {
      decimals = u.decimals;
      num = num.substr(0, num.size() - n.size());
      break;
    }
  }
  std::string digits(num);
  size_t dot = digits.find('.');
  if (dot != std::string::npos) {
    std::string frac = digits.substr(dot + 1);
    digits = digits.substr(0, dot);
    if (static_cast<int>(frac.size()) > decimals) {
      throw InvalidArgument(
          fmt::format("{} '{}' has more decimals than its unit allows", what, text));
    }
    frac.append(static_cast<size_t>(decimals) - frac.size(), '0');
    digits += frac;
    decimals = 0;
  }
  if (digits.empty()) throw InvalidArgument(fmt::format("{} '{}' is not an amount", what, text));
  U256 v = parse(digits, what);
  for (int i = 0; i < decimals; ++i) v = v * U256(10);
  return v;
}

U256 U256::fromBigEndian(const uint8_t* data, size_t size) {
  require(size <= 32, "U256::fromBigEndian takes at most 32 bytes");
  U256 r;
  for (size_t i = 0; i < size; ++i) {
    size_t bit = 8 * (size - 1 - i);
    r.limbs_[bit / 64] |= static_cast<uint64_t>(data[i]) << (bit % 64);
  }
  return r;
}

U256 U256::fromInt64(int64_t v) {
  if (v >= 0) return U256(static_cast<uint64_t>(v));
  return -U256(static_cast<uint64_t>(-(v + 1)) + 1);
}

std::array<uint8_t, 32> U256::toBigEndian() const {
  std::array<uint8_t, 32> out{};
  for (size_t i = 0; i < 32; ++i) {
    size_t bit = 8 * (31 - i);
    out[i] = static_cast<uint8_t>(limbs_[bit / 64] >> (bit % 64));
  }
  return out;
}

Bytes U256::toMinimalBytes() const {
  auto be = toBigEndian();
  auto first = std::find_if(be.begin(), be.end(), [](uint8_t b) { return b != 0; });
  return Bytes(first, be.end());
}

std::string U256::toDecimal() const {
  if (isZero()) return "0";
  std::string s;
  U256 v = *this;
  while (!v.isZero()) {
    uint64_t r = 0;
    v = v.divSmall(10, &r);
    s.push_back(static_cast<char>('0' + r));
  }
  std::reverse(s.begin(), s.end());
  return s;
}

std::string U256::toSignedDecimal() const {
  if (!isNegative()) return toDecimal();
  return "-" + (-*this).toDecimal();
}

std::string U256::toQuantity() const {
  Bytes b = toMinimalBytes();
  if (b.empty()) return "0x0";
  std::string h = toHex(b);
  // Quantities have no leading zero digit.
  if (h[2] == '0') h.erase(2, 1);
  return h;
}

uint64_t U256::toU64() const {
  if (!fitsU64()) throw InvalidArgument(fmt::format("{} does not fit 64 bits", toDecimal()));
  return limbs_[0];
}

unsigned U256::bitLength() const {
  for (int i = 3; i >= 0; --i) {
    if (limbs_[i] != 0) return static_cast<unsigned>(64 * i + 64 - __builtin_clzll(limbs_[i]));
  }
  return 0;
}

}  // namespace mlcp::bridge
