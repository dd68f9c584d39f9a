// Reproducible matrix products.
//
// Contract: every output is ONE fma chain over k in ascending order,
//   acc = init;  for p = 0 .. k-1:  acc = fma(A[i][p], B[p][j], acc);  C[i][j] = acc
// with init = +0.0f, C's own value (accumulate), bias[i] (row bias) or bias[j] (column bias).
// The kernels vectorise across j and block over i, j and k (the accumulator of a k block is
// stored and reloaded to continue the same chain), so the result does not depend on the
// instruction set, the thread count, the tile sizes or the alignment of the operands.
// NaN and infinities propagate as the chain of fmas makes them.
//
// Matrices are row-major with leading dimensions (lda etc.: the distance between rows, in
// floats). trans_a: A is stored as its transpose, k x m (A[i][p] at a[p * lda + i]); trans_b:
// B is stored as n x k (B[p][j] at b[j * ldb + p]). C must not overlap A, B or the bias.
// Threads (ops/parallel.h): over output tiles, or over batch items when batch > 1.
#pragma once

#include <cstdint>

namespace mlcp::ops {

// The initial value of every output's accumulator.
struct GemmInit {
  enum class Kind { kZero, kAccumulate, kRowBias, kColumnBias };
  Kind kind = Kind::kZero;
  const float* bias = nullptr;  // m values (kRowBias) or n values (kColumnBias)

  static GemmInit zero() { return {}; }
  static GemmInit accumulate() { return {Kind::kAccumulate, nullptr}; }
  static GemmInit rowBias(const float* b) { return {Kind::kRowBias, b}; }
  static GemmInit columnBias(const float* b) { return {Kind::kColumnBias, b}; }
};

// C[m x n] = op(A)[m x k] · op(B)[k x n], accumulators starting at `init`.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float* c, int64_t ldc, GemmInit init = GemmInit::zero());

// `batch` independent products; item i uses a + i * stride_a, b + i * stride_b,
// c + i * stride_c (strides in floats) and the same bias.
void batchedGemm(bool trans_a, bool trans_b, int64_t batch, int64_t m, int64_t n, int64_t k,
                 const float* a, int64_t lda, int64_t stride_a, const float* b, int64_t ldb,
                 int64_t stride_b, float* c, int64_t ldc, int64_t stride_c,
                 GemmInit init = GemmInit::zero());

// Dense shorthands (leading dimensions = row lengths):
// C[m,n] = A[m,k] · B[k,n]
void matmul(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k);
// C[m,n] = A[m,k] · B[n,k]ᵀ
void matmulNT(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k);
// C[m,n] = A[k,m]ᵀ · B[k,n]
void matmulTN(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k);
// C[batch,m,n] = A[batch,m,k] · B[batch,k,n]
void batchedMatmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n,
                   int64_t k);

}  // namespace mlcp::ops
