// 8 x 8 float transpose with AVX (256-bit) shuffles, for packing matrix operands: data movement
// only, so it cannot change a result's bits. Included by the AVX2 and AVX-512 kernel files
// (both compiled with -mavx2) after they define MLCP_OPS_ISA.
#pragma once

#include <immintrin.h>

#include <cstdint>

#ifndef MLCP_OPS_ISA
#error "define MLCP_OPS_ISA before including ops/detail/transpose_avx.h"
#endif

namespace mlcp::ops::MLCP_OPS_ISA {

// dst[c * dst_ld + r] = src[r * src_ld + c] for r, c < 8.
inline void transpose8x8(const float* src, int64_t src_ld, float* dst, int64_t dst_ld) {
  __m256 r0 = _mm256_loadu_ps(src + 0 * src_ld), r1 = _mm256_loadu_ps(src + 1 * src_ld);
  __m256 r2 = _mm256_loadu_ps(src + 2 * src_ld), r3 = _mm256_loadu_ps(src + 3 * src_ld);
  __m256 r4 = _mm256_loadu_ps(src + 4 * src_ld), r5 = _mm256_loadu_ps(src + 5 * src_ld);
  __m256 r6 = _mm256_loadu_ps(src + 6 * src_ld), r7 = _mm256_loadu_ps(src + 7 * src_ld);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r0 = _mm256_permute2f128_ps(s0, s4, 0x20);
  r1 = _mm256_permute2f128_ps(s1, s5, 0x20);
  r2 = _mm256_permute2f128_ps(s2, s6, 0x20);
  r3 = _mm256_permute2f128_ps(s3, s7, 0x20);
  r4 = _mm256_permute2f128_ps(s0, s4, 0x31);
  r5 = _mm256_permute2f128_ps(s1, s5, 0x31);
  r6 = _mm256_permute2f128_ps(s2, s6, 0x31);
  r7 = _mm256_permute2f128_ps(s3, s7, 0x31);
  _mm256_storeu_ps(dst + 0 * dst_ld, r0);
  _mm256_storeu_ps(dst + 1 * dst_ld, r1);
  _mm256_storeu_ps(dst + 2 * dst_ld, r2);
  _mm256_storeu_ps(dst + 3 * dst_ld, r3);
  _mm256_storeu_ps(dst + 4 * dst_ld, r4);
  _mm256_storeu_ps(dst + 5 * dst_ld, r5);
  _mm256_storeu_ps(dst + 6 * dst_ld, r6);
  _mm256_storeu_ps(dst + 7 * dst_ld, r7);
}

constexpr bool kHasTranspose8x8 = true;

}  // namespace mlcp::ops::MLCP_OPS_ISA
