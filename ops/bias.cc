#include "ops/bias.h"

#include <algorithm>

#include "base/error.h"
#include "ops/detail/kernel_table.h"
#include "ops/parallel.h"
#include "ops/reduction.h"

namespace mlcp::ops {

void biasAdd(float* y, const float* b, int64_t rows, int64_t cols) {
  require(rows >= 0 && cols >= 0, "ops::biasAdd: negative extent");
  const auto& k = detail::activeKernels();
  parallelFor(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)),
              [&](int64_t r0, int64_t r1) {
                for (int64_t r = r0; r < r1; ++r) {
                  k.binary(detail::Binary::kAdd, y + r * cols, b, y + r * cols, cols);
                }
              });
}

void biasGrad(const float* dy, float* db, int64_t rows, int64_t cols) {
  columnSums(dy, rows, cols, db);
}

}  // namespace mlcp::ops
