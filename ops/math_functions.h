// The project's own exp, log, tanh and erf: one fixed algorithm (range reduction + polynomial,
// ops/detail/kernels_generic.h), the same float operations on every path, so the bits never
// depend on the CPU, the C library or a vector math library.
//
// Error against the C library's double-precision functions (a reference far more precise than
// float), over EVERY float of each range (measured once with the AVX-512 path; all paths give the
// same bits):
//   exp   [-104, 89]   max 1.010 ulp   (overflow to inf, gradual underflow, exp(-inf) = 0)
//   log   [0, inf]     max 0.827 ulp   (subnormals included; log(±0) = -inf, log(x < 0) = NaN)
//   tanh  [-12, 12]    max 1.330 ulp   (tanh(±inf) = ±1, tanh(-0) = -0)
//   erf   [-5, 5]      max 1.336 ulp   (erf(±inf) = ±1, erf(-0) = -0)
// Outside these ranges the results are exact limits (0, inf, ±1). tests/ops/test_ops_math.cc
// re-measures every 61st float of each range plus every float within 2^15 steps of each branch
// switch and the special values, prints the maxima and fails above 2 ulp.
// NaN in gives NaN out (the payload is not specified). Subnormal inputs and results are kept
// (no flush-to-zero).
//
// The single-value overloads run the scalar path's code; the array overloads run the active
// path (ops/isa.h) on threads (ops/parallel.h); both give the same bits. x and y may be the
// same array.
#pragma once

#include <cstdint>

namespace mlcp::ops {

float exp(float x);
float log(float x);
float tanh(float x);
float erf(float x);

void exp(const float* x, float* y, int64_t n);
void log(const float* x, float* y, int64_t n);
void tanh(const float* x, float* y, int64_t n);
void erf(const float* x, float* y, int64_t n);

}  // namespace mlcp::ops
