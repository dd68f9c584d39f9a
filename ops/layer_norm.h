// Layer norm over the last dimension of x [rows, cols], with optional weight and bias [cols].
//
// Per row (D = cols; sum and dot are one pass over the whole row in the 16-lane order of
// ops/reduction.h, steps 2-3, rows not cut into blocks):
//   mean = sum(x) / D
//   var  = (sum over j of (x_j - mean)^2, fma lanes) / D          (biased, as LibTorch)
//   rstd = 1 / sqrt(var + eps)
//   xhat_j = (x_j - mean) * rstd
//   y_j  = fma(xhat_j, w_j, b_j)            (w = 1, b = +0 where null)
// Backward (xhat recomputed by the same operations):
//   g_j  = dy_j * w_j                       (dy_j where w is null)
//   a    = sum(g) / D;  c = dot(g, xhat) / D
//   dx_j = (g_j - fma(xhat_j, c, a)) * rstd
//   dw_j = chain over rows ascending of fma(dy_ij, xhat_ij, .), from +0
//   db_j = sum over rows ascending of dy_ij, from +0
// Threads take whole rows (dx) or blocks of columns (dw, db).
#pragma once

#include <cstdint>

namespace mlcp::ops {

constexpr float kLayerNormEps = 1e-5f;  // torch::nn::LayerNorm's default

// mean and rstd [rows] receive the row statistics the backward needs; either may be null.
void layerNorm(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd,
               int64_t rows, int64_t cols, float eps = kLayerNormEps);

// Any of dx, dw, db may be null (not computed); w null means no weight (as in the forward).
void layerNormBackward(const float* x, const float* w, const float* mean, const float* rstd,
                       const float* dy, float* dx, float* dw, float* db, int64_t rows,
                       int64_t cols);

}  // namespace mlcp::ops
