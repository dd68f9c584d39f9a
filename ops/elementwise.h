// Element-wise activations and their gradients. Every output is one fixed sequence of float
// operations on its own inputs (below, in order; a * b + c means two roundings, fma(a, b, c)
// one), the same on every path and thread count. The formulas follow LibTorch 1.13's CPU
// kernels, whose results they match up to the last bits of erf/exp.
//
//   relu(x)            = x > 0 ? x : +0, NaN stays NaN
//   reluBackward(y,dy) = y <= 0 ? +0 : dy                       (y = relu output)
//   gelu(x)            = (x * 0.5) * (1 + erf(x * a)),          a = float(1/sqrt(2))
//   geluBackward(x,dy) = dy * (cdf + x * pdf),
//                        cdf = 0.5 * (1 + erf(x * a)), pdf = b * exp((x * x) * -0.5),
//                        b = float(2/sqrt(pi) * 1/sqrt(2) * 0.5)
//   tanh(x)            = ops::tanh (ops/math_functions.h)
//   tanhBackward(y,dy) = dy * (1 - y * y)                       (y = tanh output)
//   scale(x, s)        = x * s;  add(a, b) = a + b;  mul(a, b) = a * b
// In-place use (output = an input) is allowed.
#pragma once

#include <cstdint>

namespace mlcp::ops {

void relu(const float* x, float* y, int64_t n);
void reluBackward(const float* y, const float* dy, float* dx, int64_t n);
void gelu(const float* x, float* y, int64_t n);
void geluBackward(const float* x, const float* dy, float* dx, int64_t n);
void tanhBackward(const float* y, const float* dy, float* dx, int64_t n);
void scale(const float* x, float s, float* y, int64_t n);
void add(const float* a, const float* b, float* y, int64_t n);
void mul(const float* a, const float* b, float* y, int64_t n);

}  // namespace mlcp::ops
