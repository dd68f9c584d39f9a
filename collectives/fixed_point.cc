#include "collectives/fixed_point.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MLCP_HAVE_AVX2_KERNEL 1
#endif

namespace mlcp::collectives {
namespace {

void sumScalar(const float* const* xs, int count, int64_t offset, int64_t n, int32_t S,
               int64_t* acc) {
  for (int64_t i = 0; i < n; ++i) {
    int64_t sum = 0;
    for (int c = 0; c < count; ++c) sum += toFixedPoint(xs[c][offset + i], S);
    acc[i] = sum;
  }
}

#ifdef MLCP_HAVE_AVX2_KERNEL
// The scalar function, four lanes at a time (compilers do not vectorise it: AVX2 lacks 64-bit
// min/max and arithmetic shifts, which this formulation avoids).
__attribute__((target("avx2"))) inline __m256i quantize4(const float* x, int32_t S) {
  const __m256i one = _mm256_set1_epi64x(1), zero = _mm256_setzero_si256();
  const __m256i lo = _mm256_set1_epi64x(-62), hi = _mm256_set1_epi64x(62);
  const __m256i offset = _mm256_set1_epi64x(int64_t{S} - 150);
  const __m256i exp_mask = _mm256_set1_epi64x(0xFF), frac_mask = _mm256_set1_epi64x(0x7FFFFF);
  const __m256i hidden = _mm256_set1_epi64x(0x800000);
  {
    const __m256i b = _mm256_cvtepu32_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)));
    const __m256i biased = _mm256_and_si256(_mm256_srli_epi64(b, 23), exp_mask);
    const __m256i normal = _mm256_cmpgt_epi64(biased, zero);
    const __m256i m = _mm256_or_si256(_mm256_and_si256(b, frac_mask), _mm256_and_si256(normal, hidden));
    __m256i sh = _mm256_add_epi64(_mm256_or_si256(biased, _mm256_andnot_si256(normal, one)), offset);
    sh = _mm256_blendv_epi8(sh, lo, _mm256_cmpgt_epi64(lo, sh));
    sh = _mm256_blendv_epi8(sh, hi, _mm256_cmpgt_epi64(sh, hi));
    const __m256i left = _mm256_and_si256(sh, _mm256_cmpgt_epi64(sh, zero));
    const __m256i right = _mm256_and_si256(_mm256_sub_epi64(zero, sh), _mm256_cmpgt_epi64(zero, sh));
    const __m256i half = _mm256_srli_epi64(_mm256_sllv_epi64(one, right), 1);
    const __m256i nonzero = _mm256_xor_si256(_mm256_cmpeq_epi64(half, zero), _mm256_set1_epi64x(-1));
    const __m256i tie_up = _mm256_and_si256(_mm256_and_si256(_mm256_srlv_epi64(m, right), one), nonzero);
    // half - 1 where half != 0: adding the all-ones mask subtracts one.
    const __m256i biased_m = _mm256_add_epi64(_mm256_add_epi64(m, _mm256_add_epi64(half, nonzero)), tie_up);
    const __m256i magnitude = _mm256_sllv_epi64(_mm256_srlv_epi64(biased_m, right), left);
    const __m256i neg = _mm256_sub_epi64(zero, _mm256_srli_epi64(b, 31));
    return _mm256_sub_epi64(_mm256_xor_si256(magnitude, neg), neg);
  }
}

__attribute__((target("avx2"))) void sumAvx2(const float* const* xs, int count, int64_t offset,
                                              int64_t n, int32_t S, int64_t* acc) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m256i sum = _mm256_setzero_si256();
    for (int c = 0; c < count; ++c) sum = _mm256_add_epi64(sum, quantize4(xs[c] + offset + i, S));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + i), sum);
  }
  sumScalar(xs, count, offset + i, n - i, S, acc + i);
}
#endif

}  // namespace

void sumToFixedPoint(const float* const* xs, int count, int64_t offset, int64_t n, int32_t S,
                     int64_t* acc) {
#ifdef MLCP_HAVE_AVX2_KERNEL
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) {
    sumAvx2(xs, count, offset, n, S, acc);
    return;
  }
#endif
  sumScalar(xs, count, offset, n, S, acc);
}

}  // namespace mlcp::collectives
