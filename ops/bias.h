// Bias add and its batch reduction.
//
//   biasAdd:  y[i][j] = y[i][j] + b[j]                          (one add per element)
//   biasGrad: db[j] = sum over i ascending of dy[i][j], from +0 (ops/reduction.h: columnSums)
// Shapes: y, dy [rows, cols] dense; b, db [cols]. ops/linear.h folds the bias into the matrix
// product's accumulator instead (acc starts at b[j]); these are for other layers.
#pragma once

#include <cstdint>

namespace mlcp::ops {

void biasAdd(float* y, const float* b, int64_t rows, int64_t cols);
void biasGrad(const float* dy, float* db, int64_t rows, int64_t cols);

}  // namespace mlcp::ops
