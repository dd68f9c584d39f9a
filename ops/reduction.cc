#include "ops/reduction.h"

#include <algorithm>
#include <vector>

#include "base/error.h"
#include "ops/detail/kernel_table.h"
#include "ops/parallel.h"

namespace mlcp::ops {
namespace {

// Step 4 of the header's order.
float pairwise(const float* p, int64_t n) {
  if (n == 1) return p[0];
  const int64_t h = (n + 1) / 2;
  return pairwise(p, h) + pairwise(p + h, n - h);
}

// Steps 1 and 4 of the header's order around a per-block reduction.
template <class BlockFn>
float blocked(int64_t n, BlockFn block) {
  require(n >= 0, "ops: negative length of a reduction");
  if (n <= kReductionBlock) return block(0, n);
  const int64_t blocks = (n + kReductionBlock - 1) / kReductionBlock;
  std::vector<float> partial(static_cast<size_t>(blocks));
  parallelFor(blocks, 8, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t begin = b * kReductionBlock;
      partial[static_cast<size_t>(b)] = block(begin, std::min(kReductionBlock, n - begin));
    }
  });
  return pairwise(partial.data(), blocks);
}

}  // namespace

float sum(const float* x, int64_t n) {
  const auto& k = detail::activeKernels();
  return blocked(n, [&](int64_t begin, int64_t len) { return k.sum(x + begin, len); });
}

float dot(const float* x, const float* y, int64_t n) {
  const auto& k = detail::activeKernels();
  return blocked(n, [&](int64_t begin, int64_t len) { return k.dot(x + begin, y + begin, len); });
}

float sumOfSquares(const float* x, int64_t n) { return dot(x, x, n); }

void columnSums(const float* x, int64_t rows, int64_t cols, float* out) {
  require(rows >= 0 && cols >= 0, "ops::columnSums: negative extent");
  const auto& k = detail::activeKernels();
  parallelFor(cols, 64,
              [&](int64_t j0, int64_t j1) { k.columnSums(x + j0, rows, j1 - j0, cols, out + j0); });
}

}  // namespace mlcp::ops
