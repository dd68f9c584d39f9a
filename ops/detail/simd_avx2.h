// Vector traits of width 8 on AVX2+FMA: the lane-by-lane counterparts of Scalar
// (simd_scalar.h), with the same results for NaN, ±0 and infinities. Included only by
// ops/kernels_avx2.cc (compiled with -mavx2 -mfma).
#pragma once

#include <immintrin.h>

#include <cstdint>

#ifndef MLCP_OPS_ISA
#error "define MLCP_OPS_ISA before including ops/detail/simd_avx2.h"
#endif

namespace mlcp::ops::MLCP_OPS_ISA {

struct Avx2 {
  static constexpr int kWidth = 8;
  using F = __m256;
  using I = __m256i;
  using M = __m256;  // all-ones lanes where true

  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static F set1(float x) { return _mm256_set1_ps(x); }
  static F zero() { return _mm256_setzero_ps(); }

  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F sqrt(F a) { return _mm256_sqrt_ps(a); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }

  static M lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M le(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
  static M gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M ge(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static M eq(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  static M isNan(F a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static M mAnd(M a, M b) { return _mm256_and_ps(a, b); }
  static M mOr(M a, M b) { return _mm256_or_ps(a, b); }
  static F select(M m, F a, F b) { return _mm256_blendv_ps(b, a, m); }

  static I asInt(F a) { return _mm256_castps_si256(a); }
  static F asFloat(I i) { return _mm256_castsi256_ps(i); }
  static I set1i(int32_t x) { return _mm256_set1_epi32(x); }
  static I addi(I a, I b) { return _mm256_add_epi32(a, b); }
  static I subi(I a, I b) { return _mm256_sub_epi32(a, b); }
  static I andi(I a, I b) { return _mm256_and_si256(a, b); }
  static I ori(I a, I b) { return _mm256_or_si256(a, b); }
  template <int kBits>
  static I slli(I a) {
    return _mm256_slli_epi32(a, kBits);
  }
  template <int kBits>
  static I srli(I a) {
    return _mm256_srli_epi32(a, kBits);
  }
  template <int kBits>
  static I srai(I a) {
    return _mm256_srai_epi32(a, kBits);
  }
  static F toFloat(I a) { return _mm256_cvtepi32_ps(a); }

  static F andf(F a, F b) { return _mm256_and_ps(a, b); }
  static F orf(F a, F b) { return _mm256_or_ps(a, b); }
  static F xorf(F a, F b) { return _mm256_xor_ps(a, b); }
};

}  // namespace mlcp::ops::MLCP_OPS_ISA
