// Vector traits of width 1: the portable scalar path, and the tails of the vector paths.
//
// Included only by the per-ISA kernel files (ops/kernels_*.cc) after they define
// MLCP_OPS_ISA, the namespace that keeps each file's copy apart (see kernels_generic.h). Every
// operation is the IEEE-754 binary32 operation its vector counterpart performs lane by lane,
// with the same results for NaN, ±0 and infinities:
//   max(a, b) = a > b ? a : b   (x86 MAXPS: the second operand when unordered or equal)
//   min(a, b) = a < b ? a : b   (MINPS)
//   fma(a, b, c) = a * b + c rounded once (__builtin_fmaf, i.e. std::fmaf).
// Comparisons are ordered and quiet (false for NaN) except neq and isNan.
#pragma once

#include <cstdint>
#include <cstring>

#ifndef MLCP_OPS_ISA
#error "define MLCP_OPS_ISA before including ops/detail/simd_scalar.h"
#endif

namespace mlcp::ops::MLCP_OPS_ISA {

struct Scalar {
  static constexpr int kWidth = 1;
  using F = float;
  using I = int32_t;
  using M = bool;

  static F load(const float* p) { return *p; }
  static void store(float* p, F v) { *p = v; }
  static F set1(float x) { return x; }
  static F zero() { return 0.0f; }

  static F add(F a, F b) { return a + b; }
  static F sub(F a, F b) { return a - b; }
  static F mul(F a, F b) { return a * b; }
  static F div(F a, F b) { return a / b; }
  static F fma(F a, F b, F c) { return __builtin_fmaf(a, b, c); }
  static F sqrt(F a) { return __builtin_sqrtf(a); }
  static F max(F a, F b) { return a > b ? a : b; }
  static F min(F a, F b) { return a < b ? a : b; }

  static M lt(F a, F b) { return a < b; }
  static M le(F a, F b) { return a <= b; }
  static M gt(F a, F b) { return a > b; }
  static M ge(F a, F b) { return a >= b; }
  static M eq(F a, F b) { return a == b; }
  static M isNan(F a) { return a != a; }
  static M mAnd(M a, M b) { return a && b; }
  static M mOr(M a, M b) { return a || b; }
  static F select(M m, F a, F b) { return m ? a : b; }

  static I asInt(F a) {
    I i;
    std::memcpy(&i, &a, sizeof(i));
    return i;
  }
  static F asFloat(I i) {
    F a;
    std::memcpy(&a, &i, sizeof(a));
    return a;
  }
  static I set1i(int32_t x) { return x; }
  static I addi(I a, I b) {
    return static_cast<I>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
  }
  static I subi(I a, I b) {
    return static_cast<I>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
  }
  static I andi(I a, I b) { return a & b; }
  static I ori(I a, I b) { return a | b; }
  template <int kBits>
  static I slli(I a) {
    return static_cast<I>(static_cast<uint32_t>(a) << kBits);
  }
  template <int kBits>
  static I srli(I a) {
    return static_cast<I>(static_cast<uint32_t>(a) >> kBits);
  }
  template <int kBits>
  static I srai(I a) {
    return a >> kBits;  // arithmetic for signed operands (GCC; C++20 guarantees it)
  }
  static F toFloat(I a) { return static_cast<F>(a); }  // exact for |a| < 2^24

  // Bitwise operations on floats (sign manipulation).
  static F andf(F a, F b) { return asFloat(asInt(a) & asInt(b)); }
  static F orf(F a, F b) { return asFloat(asInt(a) | asInt(b)); }
  static F xorf(F a, F b) { return asFloat(asInt(a) ^ asInt(b)); }
};

}  // namespace mlcp::ops::MLCP_OPS_ISA
