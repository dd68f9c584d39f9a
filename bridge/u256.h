// U256: the EVM's 256-bit unsigned word, for wei amounts, balances and ABI integers. Arithmetic
// wraps modulo 2^256 like the EVM; `checkedAdd`/`checkedSub` throw on overflow where an amount
// must not wrap. Signed ABI integers (int256) are carried as two's complement in a U256.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "bridge/bytes.h"

namespace mlcp::bridge {

class U256 {
 public:
  constexpr U256() = default;
  constexpr U256(uint64_t v) : limbs_{v, 0, 0, 0} {}  // NOLINT(google-explicit-constructor)

  // "1234" (decimal) or "0x4d2" (hex); throws InvalidArgument naming `what` otherwise.
  static U256 parse(std::string_view text, std::string_view what = "number");
  // Decimal with an optional unit suffix: "1.5ether", "20gwei", "7wei", "3" (wei).
  static U256 parseAmount(std::string_view text, std::string_view what = "amount");
  static U256 fromBigEndian(const uint8_t* data, size_t size);  // size <= 32
  static U256 fromBigEndian(const Bytes& b) { return fromBigEndian(b.data(), b.size()); }
  static U256 fromInt64(int64_t v);  // two's complement

  std::array<uint8_t, 32> toBigEndian() const;
  // Big-endian without leading zero bytes (RLP's integer form; zero is empty).
  Bytes toMinimalBytes() const;
  std::string toDecimal() const;
  std::string toQuantity() const;  // "0x0", "0x1a" (JSON-RPC)
  // Signed reading (int256): "-5" for two's complement of 5.
  std::string toSignedDecimal() const;

  bool isZero() const { return (limbs_[0] | limbs_[1] | limbs_[2] | limbs_[3]) == 0; }
  bool isNegative() const { return limbs_[3] >> 63; }  // as int256
  bool fitsU64() const { return (limbs_[1] | limbs_[2] | limbs_[3]) == 0; }
  uint64_t toU64() const;  // throws InvalidArgument when it does not fit
  unsigned bitLength() const;

  friend U256 operator+(const U256& a, const U256& b);
  friend U256 operator-(const U256& a, const U256& b);
  friend U256 operator*(const U256& a, const U256& b);
  U256 operator-() const { return U256() - *this; }
  // Quotient and remainder by a small divisor (decimal printing, fee padding).
  U256 divSmall(uint64_t d, uint64_t* rem = nullptr) const;
  static U256 checkedAdd(const U256& a, const U256& b);
  static U256 checkedSub(const U256& a, const U256& b);

  friend bool operator==(const U256& a, const U256& b) { return a.limbs_ == b.limbs_; }
  friend bool operator!=(const U256& a, const U256& b) { return !(a == b); }
  friend bool operator<(const U256& a, const U256& b);
  friend bool operator>(const U256& a, const U256& b) { return b < a; }
  friend bool operator<=(const U256& a, const U256& b) { return !(b < a); }
  friend bool operator>=(const U256& a, const U256& b) { return !(a < b); }

 private:
  std::array<uint64_t, 4> limbs_{};  // little-endian limbs
};

}  // namespace mlcp::bridge
