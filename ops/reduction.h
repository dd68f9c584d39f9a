// Reproducible sums: one fixed order on every path and thread count.
//
// A row sum (sum, dot, sumOfSquares) over n floats:
//   1. the input is cut into blocks of kReductionBlock = 4096 elements (the last may be
//      shorter);
//   2. within a block, element i goes to lane i % 16 (kReductionLanes), each lane a chain in
//      ascending i starting at +0.0f (add for sum; fma(x, y, lane) for dot and sumOfSquares);
//   3. the 16 lanes are combined by the fixed halving tree lane[j] += lane[j + h], h = 8, 4, 2, 1;
//   4. the B block results p[0..B) are combined by the fixed pairwise tree
//      pairwise(p, B) = B == 1 ? p[0] : pairwise(p, h) + pairwise(p + h, B - h), h = (B + 1) / 2
//      (n = 0 gives +0). The error then grows with log(n) beyond the blocks, not with n.
// Vector paths hold the 16 lanes in 2 (AVX2) or 1 (AVX-512) registers; threads take whole
// blocks. A column sum (columnSums) is one add chain per column down the rows in ascending
// order, starting at +0.0f.
#pragma once

#include <cstdint>

namespace mlcp::ops {

constexpr int kReductionLanes = 16;
constexpr int64_t kReductionBlock = 4096;

float sum(const float* x, int64_t n);
float dot(const float* x, const float* y, int64_t n);
float sumOfSquares(const float* x, int64_t n);

// out[j] = sum over i ascending of x[i * cols + j], for j < cols (x is rows x cols, dense).
void columnSums(const float* x, int64_t rows, int64_t cols, float* out);

}  // namespace mlcp::ops
