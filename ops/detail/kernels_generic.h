// The kernels of every instruction-set path, written once over vector traits.
//
// Each per-ISA file (ops/kernels_scalar.cc, kernels_avx2.cc, kernels_avx512.cc) defines
//   MLCP_OPS_ISA             a namespace name of its own (scalar, avx2, avx512),
//   Wide                     its vector traits (Scalar, Avx2 or Avx512),
//   kIsa, kGemmMr, kGemmNv,  the path and its gemm blocking,
//   kGemmKc, kGemmMc, kGemmNc
// and then includes this file, which puts everything into mlcp::ops::MLCP_OPS_ISA: no symbol of
// one path can stand in for another's at link time (they are compiled for different CPUs).
//
// How the paths stay bitwise identical (the contract of ops/ops.h):
//   - vectors run across independent outputs (elements, columns of a row, columns of a gemm
//     tile); the leftovers a vector does not fill run the same code with Scalar traits;
//   - a reduction along a row follows one fixed structure on every path: kLanes = 16 partial
//     results, element i going to lane i % 16 in ascending order, then the fixed halving tree
//     lane[j] op= lane[j + h] for h = 8, 4, 2, 1 (LaneReduce below). Scalar keeps 16 scalars,
//     AVX2 two vectors of 8, AVX-512 one of 16;
//   - gemm's k-reduction is one fma chain per output in ascending k (the micro-kernel's
//     accumulator, stored and reloaded between k blocks, continues the same chain);
//   - the math functions (expT, logT, tanhT, erfT) are the same float operations on every path.
// This header includes no standard-library code beyond <cstdint>/<cstring>: the per-ISA files
// must not emit shared inline functions compiled for a CPU other than the baseline.
#pragma once

#include <cstdint>
#include <cstring>

#include "ops/detail/kernel_table.h"

#ifndef MLCP_OPS_ISA
#error "define MLCP_OPS_ISA before including ops/detail/kernels_generic.h"
#endif

namespace mlcp::ops::MLCP_OPS_ISA {

using detail::AdamWCoefficients;
using detail::Binary;
using detail::GemmArgs;
using detail::GemmInitKind;
using detail::SgdCoefficients;
using detail::Unary;

constexpr int kLanes = 16;
static_assert(kLanes % Wide::kWidth == 0, "vector width must divide the reduction lanes");

inline int64_t minI(int64_t a, int64_t b) { return a < b ? a : b; }

// ---------------------------------------------------------------------------------------------
// Math functions (ops/math_functions.h states their error bounds).

constexpr float kInf = __builtin_inff();

template <class T>
typename T::F absT(typename T::F x) {
  return T::andf(x, T::asFloat(T::set1i(0x7fffffff)));
}

// |r| with the sign of s.
template <class T>
typename T::F copySignT(typename T::F r, typename T::F s) {
  return T::orf(absT<T>(r), T::andf(s, T::asFloat(T::set1i(static_cast<int32_t>(0x80000000u)))));
}

// exp(x): n = round(x / ln 2) by the 1.5 * 2^23 shifter, r = x - n ln 2 in two fma steps
// (Cody-Waite, ln 2 = 0.693359375 - 2.12194440e-4), exp(r) = 1 + r + r^2 P(r) with Cephes'
// degree-5 P, then the scaling by 2^n in two exact-or-once-rounded steps 2^(n - n/2) * 2^(n/2),
// which gives overflow, gradual underflow and zero by the rounding of the last multiply.
template <class T>
typename T::F expT(typename T::F x) {
  using F = typename T::F;
  const F xc = T::min(T::max(x, T::set1(-104.0f)), T::set1(89.0f));  // NaN becomes -104
  const F shifter = T::set1(0x1.8p23f);
  const F t = T::fma(xc, T::set1(1.44269504088896341f), shifter);
  const F nf = T::sub(t, shifter);
  F r = T::fma(nf, T::set1(-0.693359375f), xc);
  r = T::fma(nf, T::set1(2.12194440e-4f), r);
  F p = T::set1(1.9875691500e-4f);
  p = T::fma(p, r, T::set1(1.3981999507e-3f));
  p = T::fma(p, r, T::set1(8.3334519073e-3f));
  p = T::fma(p, r, T::set1(4.1665795894e-2f));
  p = T::fma(p, r, T::set1(1.6666665459e-1f));
  p = T::fma(p, r, T::set1(5.0000001201e-1f));
  F y = T::fma(p, T::mul(r, r), r);
  y = T::add(y, T::set1(1.0f));
  const auto n = T::subi(T::asInt(t), T::asInt(shifter));  // n in [-150, 129]
  const auto n1 = T::template srai<1>(n);
  const auto n2 = T::subi(n, n1);
  const F s1 = T::asFloat(T::template slli<23>(T::addi(n1, T::set1i(127))));
  const F s2 = T::asFloat(T::template slli<23>(T::addi(n2, T::set1i(127))));
  y = T::mul(T::mul(y, s1), s2);
  return T::select(T::isNan(x), x, y);
}

// log(x): x = m 2^e with m in [sqrt(1/2), sqrt(2)) (subnormals scaled by 2^23 first),
// f = m - 1 (exact), log(1 + f) = f - f^2/2 + f^3 P(f) with Cephes' degree-8 P, plus e ln 2 in
// the two Cody-Waite parts. log(0) = -inf, log(x < 0) = NaN, log(inf) = inf.
template <class T>
typename T::F logT(typename T::F x) {
  using F = typename T::F;
  const auto tiny = T::lt(x, T::set1(0x1p-126f));
  const F xs = T::select(tiny, T::mul(x, T::set1(0x1p23f)), x);
  const auto bits = T::asInt(xs);
  F e = T::toFloat(T::subi(T::template srli<23>(bits), T::set1i(127)));
  e = T::select(tiny, T::sub(e, T::set1(23.0f)), e);
  F m = T::asFloat(T::ori(T::andi(bits, T::set1i(0x007fffff)), T::set1i(0x3f800000)));
  const auto big = T::gt(m, T::set1(1.41421356f));
  m = T::select(big, T::mul(m, T::set1(0.5f)), m);
  e = T::select(big, T::add(e, T::set1(1.0f)), e);
  const F f = T::sub(m, T::set1(1.0f));
  const F z = T::mul(f, f);
  F y = T::set1(7.0376836292e-2f);
  y = T::fma(y, f, T::set1(-1.1514610310e-1f));
  y = T::fma(y, f, T::set1(1.1676998740e-1f));
  y = T::fma(y, f, T::set1(-1.2420140846e-1f));
  y = T::fma(y, f, T::set1(1.4249322787e-1f));
  y = T::fma(y, f, T::set1(-1.6668057665e-1f));
  y = T::fma(y, f, T::set1(2.0000714765e-1f));
  y = T::fma(y, f, T::set1(-2.4999993993e-1f));
  y = T::fma(y, f, T::set1(3.3333331174e-1f));
  y = T::mul(T::mul(y, f), z);
  y = T::fma(e, T::set1(-2.12194440e-4f), y);
  y = T::fma(z, T::set1(-0.5f), y);
  F r = T::add(f, y);
  r = T::fma(e, T::set1(0.693359375f), r);
  r = T::select(T::eq(x, T::set1(kInf)), x, r);
  r = T::select(T::eq(x, T::zero()), T::set1(-kInf), r);
  r = T::select(T::lt(x, T::zero()), T::set1(__builtin_nanf("")), r);
  return T::select(T::isNan(x), x, r);
}

// tanh(x): |x| < 0.625: |x| + |x| z P(z), z = x^2, Cephes' degree-4 P; else
// 1 - 2 / (exp(2|x|) + 1) with |x| clamped to 10 (tanh rounds to 1 from 9.01 on); the sign of x
// is put back last (tanh(-0) = -0).
template <class T>
typename T::F tanhT(typename T::F x) {
  using F = typename T::F;
  const F ax = absT<T>(x);
  const F z = T::mul(ax, ax);
  F p = T::set1(-5.70498872745e-3f);
  p = T::fma(p, z, T::set1(2.06390887954e-2f));
  p = T::fma(p, z, T::set1(-5.37397155531e-2f));
  p = T::fma(p, z, T::set1(1.33314422036e-1f));
  p = T::fma(p, z, T::set1(-3.33332819422e-1f));
  const F small = T::fma(T::mul(p, z), ax, ax);
  const F axc = T::min(ax, T::set1(10.0f));
  const F e = expT<T>(T::add(axc, axc));
  const F large = T::sub(T::set1(1.0f), T::div(T::set1(2.0f), T::add(e, T::set1(1.0f))));
  const F r = T::select(T::lt(ax, T::set1(0.625f)), small, large);
  return T::select(T::isNan(x), x, copySignT<T>(r, x));
}

// erf(x): |x| < 0.921875: |x| + |x| Q(x^2) with a degree-6 Q fitted here (minimax of the
// relative error of erf, 4e-10 before rounding); |x| >= 0.921875: 1 - exp(-x^2) R(|x| - 2.4)
// with a degree-9 R fitted to erfc(x) exp(x^2) (absolute error of erf < 0.02 * 2^-24 before
// rounding), |x| clamped to 3.925 (erf rounds to 1 from 3.92 on). The sign is put back last.
template <class T>
typename T::F erfT(typename T::F x) {
  using F = typename T::F;
  const F ax = absT<T>(x);
  const F z = T::mul(ax, ax);
  F q = T::set1(8.36921026e-05f);
  q = T::fma(q, z, T::set1(-0.000814247469f));
  q = T::fma(q, z, T::set1(0.00520101003f));
  q = T::fma(q, z, T::set1(-0.0268593878f));
  q = T::fma(q, z, T::set1(0.11283695f));
  q = T::fma(q, z, T::set1(-0.376126349f));
  q = T::fma(q, z, T::set1(0.128379166f));
  const F small = T::fma(ax, q, ax);
  const F axc = T::min(ax, T::set1(3.925f));
  const F u = T::sub(axc, T::set1(2.4f));
  F r = T::set1(-3.32705058e-05f);
  r = T::fma(r, u, T::set1(-5.57011954e-05f));
  r = T::fma(r, u, T::set1(-0.000130533779f));
  r = T::fma(r, u, T::set1(0.000308012241f));
  r = T::fma(r, u, T::set1(-0.000771947671f));
  r = T::fma(r, u, T::set1(0.00290834461f));
  r = T::fma(r, u, T::set1(-0.00907872152f));
  r = T::fma(r, u, T::set1(0.0274827667f));
  r = T::fma(r, u, T::set1(-0.0795868039f));
  r = T::fma(r, u, T::set1(0.218498841f));
  const F e = expT<T>(T::sub(T::zero(), T::mul(axc, axc)));
  const F large = T::sub(T::set1(1.0f), T::mul(e, r));
  const F y = T::select(T::lt(ax, T::set1(0.921875f)), small, large);
  return T::select(T::isNan(x), x, copySignT<T>(y, x));
}

// ---------------------------------------------------------------------------------------------
// Element-wise operations (ops/elementwise.h states the formulas).

constexpr float kGeluAlpha = static_cast<float>(0.70710678118654752440);  // M_SQRT1_2
// M_2_SQRTPI * M_SQRT1_2 * 0.5, as LibTorch's GELU backward.
constexpr float kGeluBeta =
    static_cast<float>(1.12837916709551257390 * 0.70710678118654752440 * 0.5);

template <class T, Unary kOp>
typename T::F unaryOp(typename T::F x) {
  if constexpr (kOp == Unary::kExp) return expT<T>(x);
  if constexpr (kOp == Unary::kLog) return logT<T>(x);
  if constexpr (kOp == Unary::kTanh) return tanhT<T>(x);
  if constexpr (kOp == Unary::kErf) return erfT<T>(x);
  if constexpr (kOp == Unary::kRelu) {
    const auto r = T::select(T::gt(x, T::zero()), x, T::zero());
    return T::select(T::isNan(x), x, r);
  }
  if constexpr (kOp == Unary::kGelu) {
    const auto cdf = T::add(T::set1(1.0f), erfT<T>(T::mul(x, T::set1(kGeluAlpha))));
    return T::mul(T::mul(x, T::set1(0.5f)), cdf);
  }
}

template <class T, Binary kOp>
typename T::F binaryOp(typename T::F a, typename T::F b) {
  if constexpr (kOp == Binary::kAdd) return T::add(a, b);
  if constexpr (kOp == Binary::kMul) return T::mul(a, b);
  if constexpr (kOp == Binary::kReluBackward) return T::select(T::le(a, T::zero()), T::zero(), b);
  if constexpr (kOp == Binary::kTanhBackward) {
    return T::mul(b, T::sub(T::set1(1.0f), T::mul(a, a)));
  }
  if constexpr (kOp == Binary::kGeluBackward) {
    const auto cdf =
        T::mul(T::set1(0.5f), T::add(T::set1(1.0f), erfT<T>(T::mul(a, T::set1(kGeluAlpha)))));
    const auto pdf = T::mul(T::set1(kGeluBeta), expT<T>(T::mul(T::mul(a, a), T::set1(-0.5f))));
    return T::mul(b, T::add(cdf, T::mul(a, pdf)));
  }
}

template <Unary kOp>
void unaryLoop(const float* x, float* y, int64_t n) {
  constexpr int W = Wide::kWidth;
  int64_t i = 0;
  for (; i + W <= n; i += W) Wide::store(y + i, unaryOp<Wide, kOp>(Wide::load(x + i)));
  for (; i < n; ++i) y[i] = unaryOp<Scalar, kOp>(x[i]);
}

template <Binary kOp>
void binaryLoop(const float* a, const float* b, float* y, int64_t n) {
  constexpr int W = Wide::kWidth;
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    Wide::store(y + i, binaryOp<Wide, kOp>(Wide::load(a + i), Wide::load(b + i)));
  }
  for (; i < n; ++i) y[i] = binaryOp<Scalar, kOp>(a[i], b[i]);
}

inline void unaryKernel(Unary op, const float* x, float* y, int64_t n) {
  switch (op) {
    case Unary::kExp:
      return unaryLoop<Unary::kExp>(x, y, n);
    case Unary::kLog:
      return unaryLoop<Unary::kLog>(x, y, n);
    case Unary::kTanh:
      return unaryLoop<Unary::kTanh>(x, y, n);
    case Unary::kErf:
      return unaryLoop<Unary::kErf>(x, y, n);
    case Unary::kRelu:
      return unaryLoop<Unary::kRelu>(x, y, n);
    case Unary::kGelu:
      return unaryLoop<Unary::kGelu>(x, y, n);
  }
}

inline void binaryKernel(Binary op, const float* a, const float* b, float* y, int64_t n) {
  switch (op) {
    case Binary::kAdd:
      return binaryLoop<Binary::kAdd>(a, b, y, n);
    case Binary::kMul:
      return binaryLoop<Binary::kMul>(a, b, y, n);
    case Binary::kReluBackward:
      return binaryLoop<Binary::kReluBackward>(a, b, y, n);
    case Binary::kGeluBackward:
      return binaryLoop<Binary::kGeluBackward>(a, b, y, n);
    case Binary::kTanhBackward:
      return binaryLoop<Binary::kTanhBackward>(a, b, y, n);
  }
}

inline void scaleKernel(const float* x, float s, float* y, int64_t n) {
  constexpr int W = Wide::kWidth;
  const auto sv = Wide::set1(s);
  int64_t i = 0;
  for (; i + W <= n; i += W) Wide::store(y + i, Wide::mul(Wide::load(x + i), sv));
  for (; i < n; ++i) y[i] = x[i] * s;
}

// ---------------------------------------------------------------------------------------------
// Row reductions with the fixed 16-lane structure.

// The 16 lanes as kLanes / width vectors; `Op` folds one element into a lane:
//   Op::vec(acc, i) -> new acc for elements [i, i + width), Op::one(acc, i) for element i.
template <class Op>
float laneReduce(int64_t n, float init, Op op) {
  constexpr int W = Wide::kWidth, G = kLanes / W;
  typename Wide::F acc[G];
#pragma GCC unroll 16
  for (int g = 0; g < G; ++g) acc[g] = Wide::set1(init);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
#pragma GCC unroll 16
    for (int g = 0; g < G; ++g) acc[g] = op.vec(acc[g], i + g * W);
  }
  alignas(64) float lane[kLanes];
#pragma GCC unroll 16
  for (int g = 0; g < G; ++g) Wide::store(lane + g * W, acc[g]);
  for (int j = 0; i + j < n; ++j) lane[j] = op.one(lane[j], i + j);
  for (int h = kLanes / 2; h >= 1; h /= 2) {
    for (int j = 0; j < h; ++j) lane[j] = op.combine(lane[j], lane[j + h]);
  }
  return lane[0];
}

struct SumOp {
  const float* x;
  typename Wide::F vec(typename Wide::F acc, int64_t i) const {
    return Wide::add(acc, Wide::load(x + i));
  }
  float one(float acc, int64_t i) const { return acc + x[i]; }
  float combine(float a, float b) const { return a + b; }
};

struct DotOp {
  const float* x;
  const float* y;
  typename Wide::F vec(typename Wide::F acc, int64_t i) const {
    return Wide::fma(Wide::load(x + i), Wide::load(y + i), acc);
  }
  float one(float acc, int64_t i) const { return __builtin_fmaf(x[i], y[i], acc); }
  float combine(float a, float b) const { return a + b; }
};

struct MaxOp {
  const float* x;
  typename Wide::F vec(typename Wide::F acc, int64_t i) const {
    return Wide::max(acc, Wide::load(x + i));
  }
  float one(float acc, int64_t i) const { return Scalar::max(acc, x[i]); }
  float combine(float a, float b) const { return Scalar::max(a, b); }
};

// Sum of (x - mean)^2 as an fma chain per lane.
struct CenteredSquaresOp {
  const float* x;
  float mean;
  typename Wide::F vec(typename Wide::F acc, int64_t i) const {
    const auto d = Wide::sub(Wide::load(x + i), Wide::set1(mean));
    return Wide::fma(d, d, acc);
  }
  float one(float acc, int64_t i) const {
    const float d = x[i] - mean;
    return __builtin_fmaf(d, d, acc);
  }
  float combine(float a, float b) const { return a + b; }
};

// Stores e_j = exp(x_j - m) into out (when out != nullptr) and sums them.
struct ExpSumOp {
  const float* x;
  float m;
  float* out;
  typename Wide::F vec(typename Wide::F acc, int64_t i) const {
    const auto e = expT<Wide>(Wide::sub(Wide::load(x + i), Wide::set1(m)));
    if (out != nullptr) Wide::store(out + i, e);
    return Wide::add(acc, e);
  }
  float one(float acc, int64_t i) const {
    const float e = expT<Scalar>(x[i] - m);
    if (out != nullptr) out[i] = e;
    return acc + e;
  }
  float combine(float a, float b) const { return a + b; }
};

inline float sumKernel(const float* x, int64_t n) { return laneReduce(n, 0.0f, SumOp{x}); }
inline float dotKernel(const float* x, const float* y, int64_t n) {
  return laneReduce(n, 0.0f, DotOp{x, y});
}
inline float maxKernel(const float* x, int64_t n) { return laneReduce(n, -kInf, MaxOp{x}); }

// Column reductions: vectors across columns, each column one chain over rows ascending.
inline void columnSumsKernel(const float* x, int64_t rows, int64_t cols, int64_t ld, float* out) {
  constexpr int W = Wide::kWidth;
  int64_t j = 0;
  for (; j + 4 * W <= cols; j += 4 * W) {
    typename Wide::F acc[4] = {Wide::zero(), Wide::zero(), Wide::zero(), Wide::zero()};
    for (int64_t i = 0; i < rows; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v) acc[v] = Wide::add(acc[v], Wide::load(x + i * ld + j + v * W));
    }
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) Wide::store(out + j + v * W, acc[v]);
  }
  for (; j + W <= cols; j += W) {
    auto acc = Wide::zero();
    for (int64_t i = 0; i < rows; ++i) acc = Wide::add(acc, Wide::load(x + i * ld + j));
    Wide::store(out + j, acc);
  }
  for (; j < cols; ++j) {
    float acc = 0.0f;
    for (int64_t i = 0; i < rows; ++i) acc = acc + x[i * ld + j];
    out[j] = acc;
  }
}

inline void columnDotsKernel(const float* x, const float* y, int64_t rows, int64_t cols, int64_t ld,
                             float* out) {
  constexpr int W = Wide::kWidth;
  int64_t j = 0;
  for (; j + W <= cols; j += W) {
    auto acc = Wide::zero();
    for (int64_t i = 0; i < rows; ++i) {
      acc = Wide::fma(Wide::load(x + i * ld + j), Wide::load(y + i * ld + j), acc);
    }
    Wide::store(out + j, acc);
  }
  for (; j < cols; ++j) {
    float acc = 0.0f;
    for (int64_t i = 0; i < rows; ++i) acc = __builtin_fmaf(x[i * ld + j], y[i * ld + j], acc);
    out[j] = acc;
  }
}

// ---------------------------------------------------------------------------------------------
// Softmax, log-softmax and cross-entropy rows (ops/softmax.h states the formulas).

inline void softmaxKernel(const float* x, float* y, int64_t rows, int64_t cols, bool log) {
  constexpr int W = Wide::kWidth;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = maxKernel(xr, cols);
    const float s = laneReduce(cols, 0.0f, ExpSumOp{xr, m, log ? nullptr : yr});
    if (!log) {
      const float inv = 1.0f / s;
      scaleKernel(yr, inv, yr, cols);
      continue;
    }
    const float ls = logT<Scalar>(s);
    const auto mv = Wide::set1(m), lv = Wide::set1(ls);
    int64_t j = 0;
    for (; j + W <= cols; j += W) {
      Wide::store(yr + j, Wide::sub(Wide::sub(Wide::load(xr + j), mv), lv));
    }
    for (; j < cols; ++j) yr[j] = (xr[j] - m) - ls;
  }
}

inline void softmaxBackwardKernel(const float* y, const float* dy, float* dx, int64_t rows,
                                  int64_t cols, bool log) {
  constexpr int W = Wide::kWidth;
  for (int64_t r = 0; r < rows; ++r) {
    const float* yr = y + r * cols;
    const float* gr = dy + r * cols;
    float* dr = dx + r * cols;
    int64_t j = 0;
    if (!log) {
      // dx = y * (dy - sum(dy * y))
      const float d = dotKernel(gr, yr, cols);
      const auto dv = Wide::set1(d);
      for (; j + W <= cols; j += W) {
        Wide::store(dr + j, Wide::mul(Wide::load(yr + j), Wide::sub(Wide::load(gr + j), dv)));
      }
      for (; j < cols; ++j) dr[j] = yr[j] * (gr[j] - d);
    } else {
      // dx = dy - exp(y) * sum(dy)
      const float s = sumKernel(gr, cols);
      const auto sv = Wide::set1(s);
      for (; j + W <= cols; j += W) {
        const auto e = expT<Wide>(Wide::load(yr + j));
        Wide::store(dr + j, Wide::sub(Wide::load(gr + j), Wide::mul(e, sv)));
      }
      for (; j < cols; ++j) dr[j] = gr[j] - expT<Scalar>(yr[j]) * s;
    }
  }
}

inline void crossEntropyKernel(const float* x, const int64_t* targets, float* loss, int64_t rows,
                               int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    const float m = maxKernel(xr, cols);
    const float lse = logT<Scalar>(laneReduce(cols, 0.0f, ExpSumOp{xr, m, nullptr}));
    loss[r] = lse - (xr[targets[r]] - m);
  }
}

inline void crossEntropyBackwardKernel(const float* x, const int64_t* targets, float scale,
                                       float* dx, int64_t rows, int64_t cols) {
  constexpr int W = Wide::kWidth;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* dr = dx + r * cols;
    const float m = maxKernel(xr, cols);
    const float lse = logT<Scalar>(laneReduce(cols, 0.0f, ExpSumOp{xr, m, nullptr}));
    const auto mv = Wide::set1(m), lv = Wide::set1(lse), sv = Wide::set1(scale);
    int64_t j = 0;
    for (; j + W <= cols; j += W) {
      const auto lp = Wide::sub(Wide::sub(Wide::load(xr + j), mv), lv);
      Wide::store(dr + j, Wide::mul(expT<Wide>(lp), sv));
    }
    for (; j < cols; ++j) dr[j] = expT<Scalar>((xr[j] - m) - lse) * scale;
    const int64_t t = targets[r];
    dr[t] = dr[t] - scale;
  }
}

// ---------------------------------------------------------------------------------------------
// Layer norm rows (ops/layer_norm.h states the formulas).

inline void layerNormKernel(const float* x, const float* w, const float* b, float eps, float* y,
                            float* mean, float* rstd, int64_t rows, int64_t cols) {
  constexpr int W = Wide::kWidth;
  const float d = static_cast<float>(cols);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float mu = sumKernel(xr, cols) / d;
    const float var = laneReduce(cols, 0.0f, CenteredSquaresOp{xr, mu}) / d;
    const float rs = 1.0f / __builtin_sqrtf(var + eps);
    if (mean != nullptr) mean[r] = mu;
    if (rstd != nullptr) rstd[r] = rs;
    const auto muv = Wide::set1(mu), rsv = Wide::set1(rs);
    int64_t j = 0;
    for (; j + W <= cols; j += W) {
      const auto xh = Wide::mul(Wide::sub(Wide::load(xr + j), muv), rsv);
      const auto wv = w != nullptr ? Wide::load(w + j) : Wide::set1(1.0f);
      const auto bv = b != nullptr ? Wide::load(b + j) : Wide::zero();
      Wide::store(yr + j, Wide::fma(xh, wv, bv));
    }
    for (; j < cols; ++j) {
      const float xh = (xr[j] - mu) * rs;
      yr[j] = __builtin_fmaf(xh, w != nullptr ? w[j] : 1.0f, b != nullptr ? b[j] : 0.0f);
    }
  }
}

inline void layerNormBackwardKernel(const float* x, const float* w, const float* mean,
                                    const float* rstd, const float* dy, float* dx, int64_t rows,
                                    int64_t cols) {
  constexpr int W = Wide::kWidth;
  const float d = static_cast<float>(cols);
  float* xh = detail::scratch(2, static_cast<size_t>(2 * cols));
  float* g = xh + cols;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    const float* gr = dy + r * cols;
    float* dr = dx + r * cols;
    const float mu = mean[r], rs = rstd[r];
    const auto muv = Wide::set1(mu), rsv = Wide::set1(rs);
    int64_t j = 0;
    for (; j + W <= cols; j += W) {
      Wide::store(xh + j, Wide::mul(Wide::sub(Wide::load(xr + j), muv), rsv));
      const auto gv = Wide::load(gr + j);
      Wide::store(g + j, w != nullptr ? Wide::mul(gv, Wide::load(w + j)) : gv);
    }
    for (; j < cols; ++j) {
      xh[j] = (xr[j] - mu) * rs;
      g[j] = w != nullptr ? gr[j] * w[j] : gr[j];
    }
    const float a = sumKernel(g, cols) / d;
    const float c = dotKernel(g, xh, cols) / d;
    const auto av = Wide::set1(a), cv = Wide::set1(c);
    for (j = 0; j + W <= cols; j += W) {
      const auto t = Wide::fma(Wide::load(xh + j), cv, av);
      Wide::store(dr + j, Wide::mul(Wide::sub(Wide::load(g + j), t), rsv));
    }
    for (; j < cols; ++j) dr[j] = (g[j] - __builtin_fmaf(xh[j], c, a)) * rs;
  }
}

inline void layerNormParamGradsKernel(const float* x, const float* mean, const float* rstd,
                                      const float* dy, float* dw, float* db, int64_t rows,
                                      int64_t cols, int64_t ld) {
  constexpr int W = Wide::kWidth;
  int64_t j = 0;
  for (; j + W <= cols; j += W) {
    auto aw = Wide::zero(), ab = Wide::zero();
    for (int64_t i = 0; i < rows; ++i) {
      const auto g = Wide::load(dy + i * ld + j);
      const auto xh = Wide::mul(Wide::sub(Wide::load(x + i * ld + j), Wide::set1(mean[i])),
                                Wide::set1(rstd[i]));
      aw = Wide::fma(g, xh, aw);
      ab = Wide::add(ab, g);
    }
    if (dw != nullptr) Wide::store(dw + j, aw);
    if (db != nullptr) Wide::store(db + j, ab);
  }
  for (; j < cols; ++j) {
    float aw = 0.0f, ab = 0.0f;
    for (int64_t i = 0; i < rows; ++i) {
      const float g = dy[i * ld + j];
      const float xh = (x[i * ld + j] - mean[i]) * rstd[i];
      aw = __builtin_fmaf(g, xh, aw);
      ab = ab + g;
    }
    if (dw != nullptr) dw[j] = aw;
    if (db != nullptr) db[j] = ab;
  }
}

// ---------------------------------------------------------------------------------------------
// Optimizer updates (ops/optimizer_update.h states the formulas).

template <class T>
void adamwOne(float* p, const float* g, float* m, float* v, const AdamWCoefficients& c) {
  auto pv = T::load(p);
  const auto gv = T::load(g);
  if (c.decay) pv = T::mul(pv, T::set1(c.decay_factor));
  auto mv = T::mul(T::load(m), T::set1(c.beta1));
  mv = T::fma(gv, T::set1(c.one_minus_beta1), mv);
  auto vv = T::mul(T::load(v), T::set1(c.beta2));
  vv = T::fma(T::mul(T::set1(c.one_minus_beta2), gv), gv, vv);
  const auto denom = T::add(T::div(T::sqrt(vv), T::set1(c.sqrt_bias_correction2)), T::set1(c.eps));
  pv = T::add(pv, T::div(T::mul(T::set1(c.neg_step_size), mv), denom));
  T::store(p, pv);
  T::store(m, mv);
  T::store(v, vv);
}

inline void adamwKernel(float* p, const float* g, float* m, float* v, int64_t n,
                        const AdamWCoefficients& c) {
  constexpr int W = Wide::kWidth;
  int64_t i = 0;
  for (; i + W <= n; i += W) adamwOne<Wide>(p + i, g + i, m + i, v + i, c);
  for (; i < n; ++i) adamwOne<Scalar>(p + i, g + i, m + i, v + i, c);
}

template <class T>
void sgdOne(float* p, const float* g, float* buf, const SgdCoefficients& c) {
  auto pv = T::load(p);
  auto d = T::load(g);
  if (c.decay) d = T::fma(pv, T::set1(c.weight_decay), d);
  if (c.use_momentum) {
    auto b = d;
    if (!c.first_step) {
      b = T::mul(T::load(buf), T::set1(c.momentum));
      b = T::fma(d, T::set1(c.one_minus_dampening), b);
    }
    T::store(buf, b);
    d = c.nesterov ? T::fma(b, T::set1(c.momentum), d) : b;
  }
  T::store(p, T::fma(d, T::set1(c.neg_lr), pv));
}

inline void sgdKernel(float* p, const float* g, float* buf, int64_t n, const SgdCoefficients& c) {
  constexpr int W = Wide::kWidth;
  int64_t i = 0;
  for (; i + W <= n; i += W) sgdOne<Wide>(p + i, g + i, buf != nullptr ? buf + i : nullptr, c);
  for (; i < n; ++i) sgdOne<Scalar>(p + i, g + i, buf != nullptr ? buf + i : nullptr, c);
}

// ---------------------------------------------------------------------------------------------
// Matrix product (ops/matmul.h states the contract).
//
// Blocking (BLIS-style): B is packed once per product into panels of NR columns spanning all of
// k (when stored k x n, B is read in place instead and only a partial last panel is packed); the
// threads share it and split the output into MC x NC tiles; a tile packs its rows of A
// for one k block (KC) at a time into groups of MR rows; the MR x NR micro-kernel holds its
// accumulators in registers for one k block, and stores them; the next k block reloads and
// continues the same chain. Rows and columns past the edge of A and B are packed as zeros and
// their results never stored, so edge tiles give the bits of interior ones.

template <int MR, int NV>
struct GemmKernel {
  using V = Wide;
  using F = typename V::F;
  static constexpr int W = V::kWidth;
  static constexpr int NR = NV * W;
  static constexpr int64_t KC = kGemmKc, MC = kGemmMc, NC = kGemmNc;
  static_assert(MC % MR == 0 && NC % NR == 0, "tile sizes must be multiples of the micro-tile");

  enum Mode { kZero, kLoad, kRowBias, kColumnBias };

  // The MR x (NVK * W) micro-tile at c: acc = init, then one fma per k step. B's rows are bs
  // floats apart (NR in a packed panel, ldb when read in place); NVK < NV: the narrow tile of a
  // last panel.
  template <int NVK = NV>
  static void micro(int64_t kc, const float* __restrict ap, const float* __restrict bp, int64_t bs,
                    float* c, int64_t ldc, Mode mode, const float* bias) {
    F acc[MR][NVK];
    if (mode == kLoad) {
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
        for (int v = 0; v < NVK; ++v) acc[i][v] = V::load(c + i * ldc + v * W);
      }
    } else {
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
        for (int v = 0; v < NVK; ++v) {
          acc[i][v] = mode == kZero      ? V::zero()
                      : mode == kRowBias ? V::set1(bias[i])
                                         : V::load(bias + v * W);
        }
      }
    }
#pragma GCC unroll 2
    for (int64_t p = 0; p < kc; ++p) {
      F b[NVK];
#pragma GCC unroll 8
      for (int v = 0; v < NVK; ++v) b[v] = V::load(bp + v * W);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const F a = V::set1(ap[i]);
#pragma GCC unroll 8
        for (int v = 0; v < NVK; ++v) acc[i][v] = V::fma(a, b[v], acc[i][v]);
      }
      ap += MR;
      bp += bs;
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
      for (int v = 0; v < NVK; ++v) V::store(c + i * ldc + v * W, acc[i][v]);
    }
  }

  // A partial micro-tile (mr < MR or nr < NR): through a full-size buffer.
  template <int NVK = NV>
  static void edge(int64_t kc, const float* ap, const float* bp, int64_t bs, float* c, int64_t ldc,
                   int64_t mr, int64_t nr, Mode mode, const float* bias) {
    alignas(64) float tmp[MR * NR];
    for (int i = 0; i < MR; ++i) {
      for (int j = 0; j < NR; ++j) {
        const bool valid = i < mr && j < nr;
        float v = 0.0f;
        if (valid && mode == kLoad) v = c[i * ldc + j];
        if (valid && mode == kRowBias) v = bias[i];
        if (valid && mode == kColumnBias) v = bias[j];
        tmp[i * NR + j] = v;
      }
    }
    micro<NVK>(kc, ap, bp, bs, tmp, NR, mode == kZero ? kZero : kLoad, nullptr);
    for (int64_t i = 0; i < mr; ++i) {
      for (int64_t j = 0; j < nr; ++j) c[i * ldc + j] = tmp[i * NR + j];
    }
  }

  // Panel of B columns [j0, j0 + NR) over all k: element (p, j) at dst[p * NR + j - j0].
  static void packB(const GemmArgs& g, const float* b, int64_t j0, float* dst) {
    const int64_t nr = minI(NR, g.n - j0), k = g.k, ldb = g.ldb;
    if (!g.trans_b) {
      for (int64_t p = 0; p < k; ++p) {
        const float* src = b + p * ldb + j0;
        float* d = dst + p * NR;
        if (nr == NR) {
          std::memcpy(d, src, sizeof(float) * NR);
        } else {
          for (int64_t j = 0; j < nr; ++j) d[j] = src[j];
          for (int64_t j = nr; j < NR; ++j) d[j] = 0.0f;
        }
      }
      return;
    }
    int64_t p0 = 0;
    if constexpr (kHasTranspose8x8) {
      const int64_t j8 = nr / 8 * 8;
      for (; p0 + 8 <= k; p0 += 8) {
        for (int64_t j = 0; j < j8; j += 8) {
          transpose8x8(b + (j0 + j) * ldb + p0, ldb, dst + p0 * NR + j, NR);
        }
        for (int64_t j = j8; j < NR; ++j) {
          for (int64_t p = p0; p < p0 + 8; ++p) {
            dst[p * NR + j] = j < nr ? b[(j0 + j) * ldb + p] : 0.0f;
          }
        }
      }
    }
    for (int64_t j = 0; j < NR; ++j) {
      for (int64_t p = p0; p < k; ++p) dst[p * NR + j] = j < nr ? b[(j0 + j) * ldb + p] : 0.0f;
    }
  }

  // Rows [i0, i0 + rows) of A, k range [p0, p0 + kc), in groups of MR rows: group r at
  // dst + r * MR * kc, element (i, p) at [p * MR + i].
  static void packA(const GemmArgs& g, const float* a, int64_t i0, int64_t rows, int64_t p0,
                    int64_t kc, float* dst) {
    for (int64_t ir = 0; ir < rows; ir += MR) {
      float* d = dst + ir * kc;
      const int64_t mr = minI(MR, rows - ir);
      if (!g.trans_a) {
        int64_t q = 0;
        if constexpr (kHasTranspose8x8 && MR == 8) {
          if (mr == MR) {
            for (; q + 8 <= kc; q += 8) {
              transpose8x8(a + (i0 + ir) * g.lda + p0 + q, g.lda, d + q * MR, MR);
            }
          }
        }
        for (int64_t i = 0; i < mr; ++i) {
          const float* src = a + (i0 + ir + i) * g.lda + p0;
          for (int64_t p = q; p < kc; ++p) d[p * MR + i] = src[p];
        }
      } else {
        for (int64_t p = 0; p < kc; ++p) {
          const float* src = a + (p0 + p) * g.lda + i0 + ir;
          for (int64_t i = 0; i < mr; ++i) d[p * MR + i] = src[i];
        }
      }
      for (int64_t i = mr; i < MR; ++i) {
        for (int64_t p = 0; p < kc; ++p) d[p * MR + i] = 0.0f;
      }
    }
  }

  // Where the k rows of B's panel starting at column jp are: a packed panel (rows NR floats
  // apart), or B itself when it is stored k x n and the panel is full (rows ldb apart).
  struct BPanels {
    const float* b;     // B as stored
    const float* pack;  // packed panels (all of them, or only the partial last one)
    bool in_place;      // full panels read from b
    int64_t ldb, k, n;

    void get(int64_t jp, const float** base, int64_t* stride) const {
      if (in_place && jp + NR <= n) {
        *base = b + jp;
        *stride = ldb;
      } else {
        *base = pack + (in_place ? 0 : (jp / NR) * k * NR);
        *stride = NR;
      }
    }
  };

  // Output tile (ib, jb) of mc x nc (multiples of MR and NR; any tiling gives the same bits).
  static void tile(const GemmArgs& g, const float* a, float* c, const BPanels& bpanels, int64_t mc,
                   int64_t nc, int64_t ib, int64_t jb, float* apack) {
    const int64_t i0 = ib * mc, rows = minI(mc, g.m - i0);
    const int64_t j0 = jb * nc, j1 = minI(g.n, j0 + nc);
    for (int64_t kb = 0; kb < g.k; kb += KC) {
      const int64_t kc = minI(KC, g.k - kb);
      packA(g, a, i0, rows, kb, kc, apack);
      for (int64_t jp = j0; jp < j1; jp += NR) {
        const float* bbase;
        int64_t bs;
        bpanels.get(jp, &bbase, &bs);
        const float* bp = bbase + kb * bs;
        const int64_t nr = minI(NR, g.n - jp);
        for (int64_t ir = 0; ir < rows; ir += MR) {
          const int64_t mr = minI(MR, rows - ir);
          float* cp = c + (i0 + ir) * g.ldc + jp;
          Mode mode = kLoad;
          const float* bias = nullptr;
          if (kb == 0) {
            switch (g.init) {
              case GemmInitKind::kZero:
                mode = kZero;
                break;
              case GemmInitKind::kAccumulate:
                mode = kLoad;
                break;
              case GemmInitKind::kRowBias:
                mode = kRowBias;
                bias = g.bias + i0 + ir;
                break;
              case GemmInitKind::kColumnBias:
                mode = kColumnBias;
                bias = g.bias + jp;
                break;
            }
          }
          if (mr == MR && nr == NR) {
            micro(kc, apack + ir * kc, bp, bs, cp, g.ldc, mode, bias);
          } else if (NV > 1 && nr <= W) {
            edge<1>(kc, apack + ir * kc, bp, bs, cp, g.ldc, mr, nr, mode, bias);
          } else {
            edge(kc, apack + ir * kc, bp, bs, cp, g.ldc, mr, nr, mode, bias);
          }
        }
      }
    }
  }

  // k == 0: every output is its initial value.
  static void initOnly(const GemmArgs& g, float* c) {
    if (g.init == GemmInitKind::kAccumulate) return;
    for (int64_t i = 0; i < g.m; ++i) {
      for (int64_t j = 0; j < g.n; ++j) {
        c[i * g.ldc + j] = g.init == GemmInitKind::kZero      ? 0.0f
                           : g.init == GemmInitKind::kRowBias ? g.bias[i]
                                                              : g.bias[j];
      }
    }
  }

  static void run(const GemmArgs& g, const float* a, const float* b, float* c, int threads) {
    if (g.m <= 0 || g.n <= 0) return;
    if (g.k == 0) return initOnly(g, c);
    // B stored k x n is read in place (its rows hold the panels' rows); only a partial last
    // panel is packed. B stored n x k is packed whole (a transpose).
    const int64_t panels = (g.n + NR - 1) / NR;
    const bool in_place = !g.trans_b;
    const bool partial = g.n % NR != 0;
    const int64_t packed = in_place ? (partial ? 1 : 0) : panels;
    float* bpack = detail::scratch(0, static_cast<size_t>(packed * g.k * NR));
    const BPanels bpanels{b, bpack, in_place, g.ldb, g.k, g.n};
    const int64_t first_packed = in_place ? panels - 1 : 0;
    // Tiles of MC x NC, made narrower (then shorter) while there are fewer tiles than threads.
    int64_t mc = MC, nc = NC;
    const auto count = [&] { return ((g.m + mc - 1) / mc) * ((g.n + nc - 1) / nc); };
    while (count() < threads && nc > NR) nc -= NR;
    while (count() < threads && mc > MR) mc -= MR;
    const int64_t col_blocks = (g.n + nc - 1) / nc;
    const int64_t tiles = count();
    const int64_t most = packed > tiles ? packed : tiles;
    const int nt = static_cast<int>(minI(threads, most));
    if (nt <= 1) {
      for (int64_t p = 0; p < packed; ++p) {
        packB(g, b, (first_packed + p) * NR, bpack + p * g.k * NR);
      }
      float* apack = detail::scratch(1, static_cast<size_t>(MC * KC));
      for (int64_t t = 0; t < tiles; ++t) {
        tile(g, a, c, bpanels, mc, nc, t / col_blocks, t % col_blocks, apack);
      }
      return;
    }
#pragma omp parallel num_threads(nt)
    {
#pragma omp for schedule(static)
      for (int64_t p = 0; p < packed; ++p) {
        packB(g, b, (first_packed + p) * NR, bpack + p * g.k * NR);
      }
      float* apack = detail::scratch(1, static_cast<size_t>(MC * KC));
#pragma omp for schedule(static)
      for (int64_t t = 0; t < tiles; ++t) {
        tile(g, a, c, bpanels, mc, nc, t / col_blocks, t % col_blocks, apack);
      }
    }
  }

  static void gemm(const GemmArgs& g) {
    if (g.batch == 1) return run(g, g.a, g.b, g.c, g.threads);
    const int nt = static_cast<int>(minI(g.threads, g.batch));
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < g.batch; ++i) {
      run(g, g.a + i * g.stride_a, g.b + i * g.stride_b, g.c + i * g.stride_c, 1);
    }
  }
};

inline void gemmKernel(const GemmArgs& g) { GemmKernel<kGemmMr, kGemmNv>::gemm(g); }

// ---------------------------------------------------------------------------------------------

const detail::KernelTable kTable = {
    kIsa,
    &gemmKernel,
    &unaryKernel,
    &binaryKernel,
    &scaleKernel,
    &sumKernel,
    &dotKernel,
    &columnSumsKernel,
    &columnDotsKernel,
    &softmaxKernel,
    &softmaxBackwardKernel,
    &crossEntropyKernel,
    &crossEntropyBackwardKernel,
    &layerNormKernel,
    &layerNormBackwardKernel,
    &layerNormParamGradsKernel,
    &adamwKernel,
    &sgdKernel,
};

}  // namespace mlcp::ops::MLCP_OPS_ISA
