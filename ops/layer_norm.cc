#include "ops/layer_norm.h"

#include <algorithm>

#include "base/error.h"
#include "ops/detail/kernel_table.h"
#include "ops/parallel.h"

namespace mlcp::ops {
namespace {

int64_t rowGrain(int64_t cols) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)); }

}  // namespace

void layerNorm(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd,
               int64_t rows, int64_t cols, float eps) {
  require(rows >= 0 && cols >= 0, "ops::layerNorm: negative extent");
  const auto& k = detail::activeKernels();
  parallelFor(rows, rowGrain(cols), [&](int64_t r0, int64_t r1) {
    k.layerNorm(x + r0 * cols, w, b, eps, y + r0 * cols, mean != nullptr ? mean + r0 : nullptr,
                rstd != nullptr ? rstd + r0 : nullptr, r1 - r0, cols);
  });
}

void layerNormBackward(const float* x, const float* w, const float* mean, const float* rstd,
                       const float* dy, float* dx, float* dw, float* db, int64_t rows,
                       int64_t cols) {
  require(rows >= 0 && cols >= 0, "ops::layerNormBackward: negative extent");
  require(rows == 0 || (mean != nullptr && rstd != nullptr),
          "ops::layerNormBackward: needs the forward's mean and rstd");
  const auto& k = detail::activeKernels();
  if (dx != nullptr) {
    parallelFor(rows, rowGrain(cols), [&](int64_t r0, int64_t r1) {
      k.layerNormBackward(x + r0 * cols, w, mean + r0, rstd + r0, dy + r0 * cols, dx + r0 * cols,
                          r1 - r0, cols);
    });
  }
  if (dw != nullptr || db != nullptr) {
    parallelFor(cols, 64, [&](int64_t j0, int64_t j1) {
      k.layerNormParamGrads(x + j0, mean, rstd, dy + j0, dw != nullptr ? dw + j0 : nullptr,
                            db != nullptr ? db + j0 : nullptr, rows, j1 - j0, cols);
    });
  }
}

}  // namespace mlcp::ops
