// Vector traits of width 16 on AVX-512 (F, DQ, BW, VL): the lane-by-lane counterparts of
// Scalar (simd_scalar.h), with the same results for NaN, ±0 and infinities. Included only by
// ops/kernels_avx512.cc (compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma).
#pragma once

#include <immintrin.h>

#include <cstdint>

#ifndef MLCP_OPS_ISA
#error "define MLCP_OPS_ISA before including ops/detail/simd_avx512.h"
#endif

namespace mlcp::ops::MLCP_OPS_ISA {

struct Avx512 {
  static constexpr int kWidth = 16;
  using F = __m512;
  using I = __m512i;
  using M = __mmask16;
  // The unmasked forms of some intrinsics start from _mm512_undefined_*(), which GCC 12.2 flags
  // as uninitialised (GCC PR 105593); the zero-masking forms with every lane selected are the
  // same instructions.
  static constexpr __mmask16 kAll = 0xffff;

  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static F set1(float x) { return _mm512_set1_ps(x); }
  static F zero() { return _mm512_setzero_ps(); }

  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F sqrt(F a) { return _mm512_maskz_sqrt_ps(kAll, a); }
  static F max(F a, F b) { return _mm512_maskz_max_ps(kAll, a, b); }
  static F min(F a, F b) { return _mm512_maskz_min_ps(kAll, a, b); }

  static M lt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M le(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
  static M gt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M ge(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static M eq(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static M isNan(F a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  static M mAnd(M a, M b) { return static_cast<M>(a & b); }
  static M mOr(M a, M b) { return static_cast<M>(a | b); }
  static F select(M m, F a, F b) { return _mm512_mask_blend_ps(m, b, a); }

  static I asInt(F a) { return _mm512_castps_si512(a); }
  static F asFloat(I i) { return _mm512_castsi512_ps(i); }
  static I set1i(int32_t x) { return _mm512_set1_epi32(x); }
  static I addi(I a, I b) { return _mm512_add_epi32(a, b); }
  static I subi(I a, I b) { return _mm512_sub_epi32(a, b); }
  static I andi(I a, I b) { return _mm512_and_si512(a, b); }
  static I ori(I a, I b) { return _mm512_or_si512(a, b); }
  template <int kBits>
  static I slli(I a) {
    return _mm512_maskz_slli_epi32(kAll, a, kBits);
  }
  template <int kBits>
  static I srli(I a) {
    return _mm512_maskz_srli_epi32(kAll, a, kBits);
  }
  template <int kBits>
  static I srai(I a) {
    return _mm512_maskz_srai_epi32(kAll, a, kBits);
  }
  static F toFloat(I a) { return _mm512_maskz_cvtepi32_ps(kAll, a); }

  static F andf(F a, F b) { return _mm512_and_ps(a, b); }
  static F orf(F a, F b) { return _mm512_or_ps(a, b); }
  static F xorf(F a, F b) { return _mm512_xor_ps(a, b); }
};

}  // namespace mlcp::ops::MLCP_OPS_ISA
