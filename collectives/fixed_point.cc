#include "collectives/fixed_point.h"

#include <algorithm>
#include <cstring>

// MLCP_NO_AVX2_KERNEL builds the scalar code alone, as on other architectures (for testing it).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(MLCP_NO_AVX2_KERNEL)
#include <immintrin.h>
#define MLCP_HAVE_AVX2_KERNEL 1
#endif

namespace mlcp::collectives {
namespace {

template <bool kAdd = false>
void sumScalar(const float* const* xs, int count, int64_t offset, int64_t n, int32_t S,
               int64_t* acc) {
  for (int64_t i = 0; i < n; ++i) {
    uint64_t sum = kAdd ? static_cast<uint64_t>(acc[i]) : 0;  // wraps, as the vector adds do
    for (int c = 0; c < count; ++c) {
      sum += static_cast<uint64_t>(toFixedPoint(xs[c][offset + i], S));
    }
    acc[i] = static_cast<int64_t>(sum);
  }
}

int64_t wrappingAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

void fromScalar(const int64_t* sums, const int64_t* more, int64_t n, double f, float* out) {
  if (more == nullptr) {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(static_cast<double>(sums[i]) * f);
  } else {
    for (int64_t i = 0; i < n; ++i) {
      out[i] = static_cast<float>(static_cast<double>(wrappingAdd(sums[i], more[i])) * f);
    }
  }
}

#ifdef MLCP_HAVE_AVX2_KERNEL
#define MLCP_AVX2_INLINE __attribute__((target("avx2"), always_inline)) inline

// toFixedPoint for the eight floats at x, added into two accumulators of four int64 each:
// acc_a gets elements 0, 1, 4, 5 and acc_b elements 2, 3, 6, 7 (the order the 32-to-64-bit
// unpacks leave them in; the caller restores it once per block).
//
// With E the biased exponent (1 for subnormals) and m the 24-bit integer with x = ±m * 2^(E-150),
// sh = E - c1 where c1 = 150 - S, clamped to [-61, 300] (which changes nothing: below -61 every
// sh is already >= 62, the scalar function's clamp, and from 280 up every sh is <= -25, where
// every result is 0). Everything up to the sign runs in 32-bit lanes on 2m, whose low bit is
// free, and on E - 1 (0 for subnormals and for the biased exponent 1), so that 2m is |x|'s bits,
// one place up, less (E - 1) << 24: the fraction with the hidden bit for a normal x, the fraction
// alone for a subnormal one, no select.
//
// kRounds (0 <= c1 <= 300): r2 = max(c1 + 1 - E, 0) and l = max(E - 1 - c1, 0), both one
// saturating 16-bit subtraction (every operand is below 2^16).
//  - E <= c1 (right = c1 - E >= 0, r2 = right + 1, l = 0): q = (2m + 2^right - 1 + bit right of
//    m) >> r2 is m >> right rounded half to even, and (2m + (m & 1)) >> 1 = m for right = 0.
//    For right >= 25 it is 0, as in the scalar function: the sum stays below 2^(right + 1) (and
//    below 2^32: from r2 = 32 on the 32-bit variable shifts give 0).
//  - E > c1 (left = E - c1 >= 1, r2 = 0, l = left - 1): 2^(r2 - 1) - 1 and bit 0 of 2m are 0,
//    so q = 2m, and 2m << (left - 1) = m << left; the clamp of left to 62 is l <= 61.
// Otherwise (c1 < 0, passed as k = -c1 in 1..61) every sh >= 1: q = 2m, l = min(E - 1 + k, 61).
//
// Only the final left shift needs 64-bit lanes; the sign is applied before it, since
// -(q << l) == (-q) << l modulo 2^64.
//
// kScan: also what scanForGrid needs of the eight floats, folded into max2 (the largest 2|x|
// bits, the sign shifted out) and lost (the bits of 2m that the right shift by r2 drops:
// m & (2^right - 1) one place up, all of 2m from r2 = 32 on, none for r2 = 0).
template <bool kRounds, bool kScan>
MLCP_AVX2_INLINE void addQuantized8(const float* x, __m256i c1, __m256i& acc_a, __m256i& acc_b,
                                    __m256i& max2, __m256i& lost) {
  const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
  const __m256i a2 = _mm256_add_epi32(b, b);  // |x|'s bits, one place up
  const __m256i em1 = _mm256_subs_epu16(_mm256_srli_epi32(a2, 24), one);  // E - 1
  const __m256i m2 = _mm256_sub_epi32(a2, _mm256_slli_epi32(em1, 24));    // 2m
  __m256i q, l;
  if constexpr (kRounds) {
    const __m256i r2 = _mm256_subs_epu16(c1, em1);
    l = _mm256_min_epi32(_mm256_subs_epu16(em1, c1), _mm256_set1_epi32(61));
    // 2^(r2 - 1) - 1, 0 for r2 = 0 (a shift by 32) and for r2 > 32 (a shift by a negative count).
    const __m256i below_half = _mm256_srlv_epi32(_mm256_set1_epi32(0x7FFFFFFF),
                                                 _mm256_sub_epi32(_mm256_set1_epi32(32), r2));
    const __m256i odd = _mm256_and_si256(_mm256_srlv_epi32(m2, r2), one);  // bit r2 of 2m
    q = _mm256_srlv_epi32(_mm256_add_epi32(_mm256_add_epi32(m2, below_half), odd), r2);
    if constexpr (kScan) {
      const __m256i dropped = _mm256_sub_epi32(_mm256_sllv_epi32(one, r2), one);
      lost = _mm256_or_si256(lost, _mm256_and_si256(m2, dropped));
    }
  } else {
    q = m2;
    l = _mm256_min_epi32(_mm256_add_epi32(em1, c1), _mm256_set1_epi32(61));
  }
  if constexpr (kScan) max2 = _mm256_max_epu32(max2, a2);
  const __m256i v = _mm256_sign_epi32(q, b);      // -q where x's sign bit is set (q = 0 for x = 0)
  const __m256i s = _mm256_cmpgt_epi32(zero, v);  // v's sign, as its upper 32 bits
  acc_a = _mm256_add_epi64(
      acc_a, _mm256_sllv_epi64(_mm256_unpacklo_epi32(v, s), _mm256_unpacklo_epi32(l, zero)));
  acc_b = _mm256_add_epi64(
      acc_b, _mm256_sllv_epi64(_mm256_unpackhi_epi32(v, s), _mm256_unpackhi_epi32(l, zero)));
}

template <bool kRounds>
MLCP_AVX2_INLINE void addQuantized8(const float* x, __m256i c1, __m256i& acc_a, __m256i& acc_b) {
  __m256i unused;
  addQuantized8<kRounds, false>(x, c1, acc_a, acc_b, unused, unused);
}

MLCP_AVX2_INLINE void store8(int64_t* out, __m256i acc_a, __m256i acc_b) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                      _mm256_permute2x128_si256(acc_a, acc_b, 0x20));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 4),
                      _mm256_permute2x128_si256(acc_a, acc_b, 0x31));
}

// store8's inverse (the same permutation): acc[0..7] as acc_a and acc_b.
MLCP_AVX2_INLINE void load8(const int64_t* in, __m256i& acc_a, __m256i& acc_b) {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in));
  const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + 4));
  acc_a = _mm256_permute2x128_si256(lo, hi, 0x20);
  acc_b = _mm256_permute2x128_si256(lo, hi, 0x31);
}

// kCount > 0: that many contributions, unrolled; kCount == 0: `count` of them, in a loop.
// kAdd: the sums are added to acc's values instead of replacing them.
template <int kCount, bool kRounds, bool kAdd>
__attribute__((target("avx2"))) void sumAvx2(const float* const* xs, int count, int64_t offset,
                                             int64_t n, int32_t c1, int64_t* acc) {
  const __m256i c1v = _mm256_set1_epi32(kRounds ? c1 : -c1);
  const float* p[kCount > 0 ? kCount : 1];
  if constexpr (kCount > 0) {
    for (int c = 0; c < kCount; ++c) p[c] = xs[c] + offset;
  }
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i acc_a = _mm256_setzero_si256(), acc_b = _mm256_setzero_si256();
    if constexpr (kAdd) load8(acc + i, acc_a, acc_b);
    if constexpr (kCount > 0) {
      for (int c = 0; c < kCount; ++c) addQuantized8<kRounds>(p[c] + i, c1v, acc_a, acc_b);
    } else {
      for (int c = 0; c < count; ++c) {
        addQuantized8<kRounds>(xs[c] + offset + i, c1v, acc_a, acc_b);
      }
    }
    store8(acc + i, acc_a, acc_b);
  }
}

// quantizeAndScan's eight-float blocks (one contribution): the sums as sumAvx2<1> leaves them,
// and the scan of those floats as {max_abs_bits, exact}.
template <bool kRounds, bool kAdd>
__attribute__((target("avx2"))) GridScan quantizeAndScanAvx2(const float* x, int64_t n, int32_t c1,
                                                             int64_t* acc) {
  const __m256i c1v = _mm256_set1_epi32(kRounds ? c1 : -c1);
  __m256i max2 = _mm256_setzero_si256(), lost = _mm256_setzero_si256();
  for (int64_t i = 0; i + 8 <= n; i += 8) {
    __m256i acc_a = _mm256_setzero_si256(), acc_b = _mm256_setzero_si256();
    if constexpr (kAdd) load8(acc + i, acc_a, acc_b);
    addQuantized8<kRounds, true>(x + i, c1v, acc_a, acc_b, max2, lost);
    store8(acc + i, acc_a, acc_b);
  }
  alignas(32) uint32_t m[8], l[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(m), max2);
  _mm256_store_si256(reinterpret_cast<__m256i*>(l), lost);
  uint32_t max_bits = 0, any_lost = 0;
  for (int k = 0; k < 8; ++k) {
    max_bits = std::max(max_bits, m[k] >> 1);
    any_lost |= l[k];
  }
  return {max_bits, any_lost == 0};
}

template <bool kRounds, bool kAdd>
void sumAvx2Count(const float* const* xs, int count, int64_t offset, int64_t n, int32_t c1,
                  int64_t* acc) {
  switch (count) {
    case 1:
      return sumAvx2<1, kRounds, kAdd>(xs, count, offset, n, c1, acc);
    case 2:
      return sumAvx2<2, kRounds, kAdd>(xs, count, offset, n, c1, acc);
    case 3:
      return sumAvx2<3, kRounds, kAdd>(xs, count, offset, n, c1, acc);
    case 4:
      return sumAvx2<4, kRounds, kAdd>(xs, count, offset, n, c1, acc);
    default:
      return sumAvx2<0, kRounds, kAdd>(xs, count, offset, n, c1, acc);
  }
}

// The eight-float blocks in AVX2, the rest (fewer than eight) in the scalar function.
// The kernels' c1 = 150 - S, clamped as addQuantized8 describes.
int32_t kernelC1(int32_t S) {
  return static_cast<int32_t>(std::clamp<int64_t>(int64_t{150} - S, -61, 300));
}

template <bool kAdd>
void sumAvx2Dispatch(const float* const* xs, int count, int64_t offset, int64_t n, int32_t S,
                     int64_t* acc) {
  const int32_t c1 = kernelC1(S);
  if (c1 >= 0)
    sumAvx2Count<true, kAdd>(xs, count, offset, n, c1, acc);
  else
    sumAvx2Count<false, kAdd>(xs, count, offset, n, c1, acc);
  const int64_t done = n / 8 * 8;
  sumScalar<kAdd>(xs, count, offset + done, n - done, S, acc + done);
}

// Four int64 to double, rounded as cvtsi2sd rounds each: v = hi * 2^48 + lo with hi its top 16
// bits (signed) and lo its low 48 bits; hi * 2^48 - 2^52 and 2^52 + lo are exact doubles built
// from the bits, and their sum (v exactly, before rounding) is rounded once, by the add.
MLCP_AVX2_INLINE __m256d toDouble4(__m256i v) {
  const __m256d magic_hi = _mm256_set1_pd(0x1.8p68);  // 3 * 2^67: ulp 2^16
  const __m256d magic_all = _mm256_set1_pd(0x1.8p68 + 0x1p52);
  const __m256d two52 = _mm256_set1_pd(0x1p52);  // ulp 1
  // The top 16 bits, sign-extended, into the upper half of each 64-bit lane: adding them to
  // 3 * 2^67's bits adds hi * 2^32 * 2^16.
  const __m256i hi = _mm256_blend_epi16(_mm256_srai_epi32(v, 16), _mm256_setzero_si256(), 0x33);
  const __m256d dhi = _mm256_sub_pd(
      _mm256_castsi256_pd(_mm256_add_epi64(hi, _mm256_castpd_si256(magic_hi))), magic_all);
  const __m256i lo = _mm256_blend_epi16(v, _mm256_castpd_si256(two52), 0x88);  // 2^52 + lo
  return _mm256_add_pd(dhi, _mm256_castsi256_pd(lo));
}

template <bool kMore>
__attribute__((target("avx2"))) void fromAvx2(const int64_t* sums, const int64_t* more, int64_t n,
                                              double f, float* out) {
  const __m256d fv = _mm256_set1_pd(f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sums + i));
    __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sums + i + 4));
    if constexpr (kMore) {
      a = _mm256_add_epi64(a, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(more + i)));
      b = _mm256_add_epi64(b, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(more + i + 4)));
    }
    const __m128 fa = _mm256_cvtpd_ps(_mm256_mul_pd(toDouble4(a), fv));
    const __m128 fb = _mm256_cvtpd_ps(_mm256_mul_pd(toDouble4(b), fv));
    _mm256_storeu_ps(out + i, _mm256_insertf128_ps(_mm256_castps128_ps256(fa), fb, 1));
  }
  fromScalar(sums + i, kMore ? more + i : nullptr, n - i, f, out + i);
}

bool haveAvx2() {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
}
#endif

// scanForGrid's loop, compiled twice on x86-64 (AVX2 and the baseline) and picked at load time;
// integer-only, so both give the same answer. With c1 = 150 - S, toFixedPoint shifts x's 24-bit
// integer m right by c1 - E (E the biased exponent, 1 for subnormals) where that is positive,
// rounding away m's low c1 - E bits: `lost` collects them (all of m from 24 places on).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(MLCP_NO_AVX2_KERNEL)
__attribute__((target_clones("avx2", "default")))
#endif
GridScan
scanLoop(const float* x, int64_t n, int32_t c1) {
  uint32_t max_bits = 0, lost = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    const uint32_t a = bits & 0x7FFFFFFFu;
    max_bits = a > max_bits ? a : max_bits;
    const uint32_t biased = a >> 23;
    const uint32_t m = (a & 0x7FFFFFu) | (biased != 0 ? 0x800000u : 0u);
    const int32_t right = c1 - static_cast<int32_t>(biased | (biased == 0 ? 1u : 0u));
    // The low min(max(right, 0), 24) bits, in a form GCC vectorises (one clamp, one shift).
    const uint32_t r = static_cast<uint32_t>(right < 0 ? 0 : (right > 24 ? 24 : right));
    const uint32_t below = (1u << r) - 1;
    lost |= m & below;
  }
  return {max_bits, lost == 0};
}

}  // namespace

namespace {

// The AVX2 kernel where the CPU has it, else the scalar one; kAdd as in sumAvx2.
template <bool kAdd>
void sumKernel(const float* const* xs, int count, int64_t offset, int64_t n, int32_t S,
               int64_t* acc) {
#ifdef MLCP_HAVE_AVX2_KERNEL
  if (haveAvx2()) return sumAvx2Dispatch<kAdd>(xs, count, offset, n, S, acc);
#endif
  sumScalar<kAdd>(xs, count, offset, n, S, acc);
}

}  // namespace

void sumToFixedPoint(const float* const* xs, int count, int64_t offset, int64_t n, int32_t S,
                     int64_t* acc) {
  sumKernel<false>(xs, count, offset, n, S, acc);
}

void addToFixedPoint(const float* const* xs, int count, int64_t offset, int64_t n, int32_t S,
                     int64_t* acc) {
  sumKernel<true>(xs, count, offset, n, S, acc);
}

GridScan scanForGrid(const float* x, int64_t n, int32_t S) {
  // c1 beyond [-1, 300] changes nothing: every right shift is then <= 0, or >= 24 for all m.
  return scanLoop(x, n, static_cast<int32_t>(std::clamp<int64_t>(int64_t{150} - S, -1, 300)));
}

namespace {

// quantizeAndScan for one kAdd: the eight-float blocks in AVX2 where the CPU has it (c1 >= 0:
// the kernel's clamp is scanForGrid's too; c1 < 0: nothing rounds, the kernel's lost = 0 says
// so), the rest in the scalar functions.
template <bool kAdd>
GridScan quantizeAndScanKernel(const float* x, int64_t n, int32_t S, int64_t* acc) {
  int64_t done = 0;
  GridScan blocks;
#ifdef MLCP_HAVE_AVX2_KERNEL
  if (haveAvx2()) {
    const int32_t c1 = kernelC1(S);
    blocks = c1 >= 0 ? quantizeAndScanAvx2<true, kAdd>(x, n, c1, acc)
                     : quantizeAndScanAvx2<false, kAdd>(x, n, c1, acc);
    done = n / 8 * 8;
  }
#endif
  const GridScan rest = scanForGrid(x + done, n - done, S);
  sumScalar<kAdd>(&x, 1, done, n - done, S, acc + done);
  return {std::max(blocks.max_abs_bits, rest.max_abs_bits), blocks.exact && rest.exact};
}

}  // namespace

GridScan quantizeAndScan(const float* x, int64_t n, int32_t S, bool add, int64_t* acc) {
  return add ? quantizeAndScanKernel<true>(x, n, S, acc)
             : quantizeAndScanKernel<false>(x, n, S, acc);
}

void fromFixedPoint(const int64_t* sums, const int64_t* more, int64_t n, double f, float* out) {
#ifdef MLCP_HAVE_AVX2_KERNEL
  if (haveAvx2()) {
    if (more == nullptr) return fromAvx2<false>(sums, more, n, f, out);
    return fromAvx2<true>(sums, more, n, f, out);
  }
#endif
  fromScalar(sums, more, n, f, out);
}

bool fixedPointUsesAvx2() {
#ifdef MLCP_HAVE_AVX2_KERNEL
  return haveAvx2();
#else
  return false;
#endif
}

}  // namespace mlcp::collectives
