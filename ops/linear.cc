#include "ops/linear.h"

#include "ops/matmul.h"
#include "ops/reduction.h"

namespace mlcp::ops {

void linear(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t in,
            int64_t out) {
  gemm(false, true, rows, out, in, x, in, w, in, y, out,
       b != nullptr ? GemmInit::columnBias(b) : GemmInit::zero());
}

void linearBackward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                    float* db, int64_t rows, int64_t in, int64_t out) {
  if (dx != nullptr) gemm(false, false, rows, in, out, dy, out, w, in, dx, in);
  if (dw != nullptr) gemm(true, false, out, in, rows, dy, out, x, in, dw, in);
  if (db != nullptr) columnSums(dy, rows, out, db);
}

}  // namespace mlcp::ops
