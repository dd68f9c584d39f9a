// The one rounding step of the exact sum (exact_sum.h), as integer arithmetic on a float's bits.
//
// toFixedPoint(x, S) == llrint(double(x) * 2^S) (round half to even) whenever the result fits,
// i.e. |x| * 2^S < 2^62, which ExactSum guarantees by its choice of S. Why bits instead of
// llrint: x = ±m * 2^(E-150) with a 24-bit integer m (E the biased exponent; subnormals use
// E = 1 and no hidden bit), so x * 2^S = ±m * 2^sh with sh = E - 150 + S, and rounding is a
// shift with a half-even bias. Only integer shifts, adds and selects remain, which compilers
// vectorise (AVX2 has 64-bit variable shifts; there is no packed double-to-int64 conversion
// before AVX-512), and integers leave no room for a different answer on another machine.
#pragma once

#include <cstdint>
#include <cstring>

namespace mlcp::collectives {

inline int64_t toFixedPoint(uint32_t bits, int32_t S) {
  const uint32_t biased = (bits >> 23) & 0xFFu;
  int32_t sh = static_cast<int32_t>(biased | (biased == 0 ? 1u : 0u)) - 150 + S;
  sh = sh < -62 ? -62 : (sh > 62 ? 62 : sh);  // m < 2^24: shifting right past 25 gives 0
  const uint64_t left = static_cast<uint32_t>(sh > 0 ? sh : 0);
  const uint64_t right = static_cast<uint32_t>(sh < 0 ? -sh : 0);
  const uint64_t m = (bits & 0x7FFFFFu) | (biased != 0 ? 0x800000u : 0u);
  const uint64_t half = (uint64_t{1} << right) >> 1;         // 0 when right == 0
  const uint64_t tie_up = half != 0 ? (m >> right) & 1 : 0;  // ties go to the even neighbour
  const uint64_t magnitude = ((m + (half != 0 ? half - 1 : 0) + tie_up) >> right) << left;
  const uint64_t neg = uint64_t{0} - (bits >> 31);  // all ones for a negative x
  return static_cast<int64_t>((magnitude ^ neg) - neg);
}

inline int64_t toFixedPoint(float x, int32_t S) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return toFixedPoint(bits, S);
}

// acc[i] = sum over c of toFixedPoint(xs[c][offset + i], S) for i in [0, n) (wrapping on
// overflow, which ExactSum's choice of S rules out): every contribution's quantised value is
// added in registers and acc is written once. The same arithmetic in AVX2 where the CPU has it
// (rounding in 32-bit lanes, eight floats a vector), else the scalar function above; both give
// the same bits for every float and every S.
void sumToFixedPoint(const float* const* xs, int count, int64_t offset, int64_t n, int32_t S,
                     int64_t* acc);

// acc[i] += sum over c of toFixedPoint(xs[c][offset + i], S), wrapping like sumToFixedPoint:
// the form for folding contributions into a sum one at a time, as they become ready.
void addToFixedPoint(const float* const* xs, int count, int64_t offset, int64_t n, int32_t S,
                     int64_t* acc);

// What ExactSum needs to know of x[0, n) before, or after, quantising it to the grid 2^-S:
// `max_abs_bits` — the largest |x| as bits without the sign, which orders like |x| (from
// 0x7F800000 up when some x is inf or NaN) — and `exact` — whether toFixedPoint(x[i], S) ==
// x[i] * 2^S for every i, i.e. the grid rounds nothing away. (Then the integers on any finer
// grid 2^-(S + d) are exactly 2^d times these: what lets ExactSum quantise before it knows its
// grid, see exact_sum.h.) One pass, vectorised where the CPU has AVX2.
struct GridScan {
  uint32_t max_abs_bits = 0;
  bool exact = true;
};
GridScan scanForGrid(const float* x, int64_t n, int32_t S);

// scanForGrid(x, n, S) and the quantising of the same floats in one pass over x, the way
// ExactSum's helper folds a contribution: acc[i] = toFixedPoint(x[i], S) for i in [0, n), or
// acc[i] += it with `add` (wrapping, as addToFixedPoint). The same bits and the same GridScan
// as the two calls.
GridScan quantizeAndScan(const float* x, int64_t n, int32_t S, bool add, int64_t* acc);

// The way back from the grid: out[i] = float(double(sums[i] + more[i]) * f) for i in [0, n),
// each step rounded as C++ rounds it (int64 -> double to nearest even, the product, then to
// float, in the current rounding mode); `more` may be null (then sums[i] alone). AVX2 where the
// CPU has it (an exact split of the int64 into two doubles, added with the one rounding), else
// the scalar loop; both give the same bits for every input.
void fromFixedPoint(const int64_t* sums, const int64_t* more, int64_t n, double f, float* out);

// Whether the two functions above run their AVX2 versions on this CPU (tests report it).
bool fixedPointUsesAvx2();

}  // namespace mlcp::collectives
