// Softmax, log-softmax and cross-entropy over the last dimension of a [rows, cols] array.
//
// Per row x (n = cols); "sum", "max" and "dot" below are one pass over the whole row in the
// 16-lane order of ops/reduction.h, steps 2-3 (element j to lane j % 16, then the halving tree;
// rows are not cut into blocks):
//   m  = max of x                    (lanes start at -inf; max(a, b) = a > b ? a : b)
//   e_j = exp(x_j - m);  s = sum of e_j
//   softmax:            y_j = e_j * (1 / s)
//   log-softmax:        y_j = (x_j - m) - log(s)
//   softmaxBackward:    dx_j = y_j * (dy_j - d),       d = dot(dy, y)   (fma lanes)
//   logSoftmaxBackward: dx_j = dy_j - exp(y_j) * s,    s = sum(dy)
//   cross-entropy row:  l = log(s) - (x_t - m)         (t = the row's target)
//   crossEntropy        = (sum of l over rows in ascending order, from +0) / rows
//   crossEntropyBackward: c = grad / rows; dx_j = exp((x_j - m) - log(s)) * c, then
//                         dx_t = dx_t - c
// exp and log are ops/math_functions.h's. A row containing NaN gives NaN; a row of -inf gives
// NaN (as LibTorch). Threads take whole rows. In-place use (y = x, dx = dy) is allowed.
#pragma once

#include <cstdint>

namespace mlcp::ops {

void softmax(const float* x, float* y, int64_t rows, int64_t cols);
void softmaxBackward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols);
void logSoftmax(const float* x, float* y, int64_t rows, int64_t cols);
void logSoftmaxBackward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols);

// The mean cross-entropy of `logits` [rows, cols] against `targets` [rows] (each in
// [0, cols), else InvalidArgument). row_losses, when not null, receives the rows' losses.
float crossEntropy(const float* logits, const int64_t* targets, int64_t rows, int64_t cols,
                   float* row_losses = nullptr);

// dlogits = grad * d(mean cross-entropy)/d(logits).
void crossEntropyBackward(const float* logits, const int64_t* targets, float grad, float* dlogits,
                          int64_t rows, int64_t cols);

}  // namespace mlcp::ops
