// The linear layer y = x · Wᵀ + b on the reproducible matrix product (ops/matmul.h).
//
//   y[r][o]  = chain over i ascending of fma(x[r][i], W[o][i], .) starting at b[o] (or +0)
//   dx[r][i] = chain over o ascending of fma(dy[r][o], W[o][i], .) starting at +0
//   dW[o][i] = chain over r ascending of fma(dy[r][o], x[r][i], .) starting at +0
//   db[o]    = sum over r ascending of dy[r][o], starting at +0 (ops/reduction.h: columnSums)
// Shapes: x [rows, in], W [out, in], b [out], y and dy [rows, out], all dense row-major.
#pragma once

#include <cstdint>

namespace mlcp::ops {

// b may be null (no bias).
void linear(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t in,
            int64_t out);

// Any of dx, dw, db may be null (that gradient is not computed). They are overwritten.
void linearBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                    float* db, int64_t rows, int64_t in, int64_t out);

}  // namespace mlcp::ops
