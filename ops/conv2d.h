// 2-D convolution, 3x3 kernel, stride 1, padding 1 (torch::nn::Conv2d(c, o, 3).padding(1), as
// models/cnn.cc uses), through im2col and the reproducible matrix product.
//
// Shapes: x [n, c, h, w], weight [o, c, 3, 3], bias [o], y [n, o, h, w]; dense row-major.
// cols(img) [c*9, h*w]: row q = ci*9 + ky*3 + kx, column p = yy*w + xx holds
//   x[img][ci][yy + ky - 1][xx + kx - 1], or 0 outside the image.
//   forward:  y[img][oc][p] = chain over q ascending of fma(weight[oc][q], cols[q][p], .),
//             starting at bias[oc] (or +0)
//   dcols(img) = weightᵀ · dy(img)       (chain over oc ascending)
//   dx[img][ci][yy][xx] = sum over (ky, kx) ascending of the dcols entries that came from it,
//             from +0 (col2im)
//   dweight[oc][q] = ONE chain over (img ascending, p ascending) of fma(dy[img][oc][p],
//             cols(img)[q][p], .) from +0
//   dbias[oc] = ONE add chain over (img ascending, p ascending) of dy[img][oc][p] from +0
// Threads: over images for im2col, col2im and the per-image products; inside each product for
// dweight.
#pragma once

#include <cstdint>

namespace mlcp::ops {

// bias may be null.
void conv2d3x3(const float* x, const float* weight, const float* bias, float* y, int64_t n,
               int64_t c, int64_t h, int64_t w, int64_t o);

// Any of dx, dweight, dbias may be null (not computed); they are overwritten.
void conv2d3x3Backward(const float* x, const float* weight, const float* dy, float* dx,
                       float* dweight, float* dbias, int64_t n, int64_t c, int64_t h, int64_t w,
                       int64_t o);

}  // namespace mlcp::ops
