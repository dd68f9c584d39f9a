#include "ops/matmul.h"

#include <string>

#include "base/error.h"
#include "ops/detail/kernel_table.h"
#include "ops/parallel.h"

namespace mlcp::ops {
namespace {

void checkOperand(const char* name, const float* p, int64_t rows, int64_t cols, int64_t ld) {
  require(rows >= 0 && cols >= 0, std::string("ops::gemm: negative extent of ") + name);
  if (rows == 0 || cols == 0) return;
  require(p != nullptr, std::string("ops::gemm: ") + name + " is null");
  require(ld >= cols, std::string("ops::gemm: leading dimension of ") + name + " (" +
                          std::to_string(ld) + ") is less than its row length (" +
                          std::to_string(cols) + ")");
}

}  // namespace

void batchedGemm(bool trans_a, bool trans_b, int64_t batch, int64_t m, int64_t n, int64_t k,
                 const float* a, int64_t lda, int64_t stride_a, const float* b, int64_t ldb,
                 int64_t stride_b, float* c, int64_t ldc, int64_t stride_c, GemmInit init) {
  require(batch >= 0 && m >= 0 && n >= 0 && k >= 0,
          "ops::gemm: batch, m, n and k must be non-negative");
  if (batch == 0 || m == 0 || n == 0) return;
  checkOperand("A", a, trans_a ? k : m, trans_a ? m : k, lda);
  checkOperand("B", b, trans_b ? n : k, trans_b ? k : n, ldb);
  checkOperand("C", c, m, n, ldc);
  require(init.kind == GemmInit::Kind::kZero || init.kind == GemmInit::Kind::kAccumulate ||
              init.bias != nullptr,
          "ops::gemm: a bias initialisation needs a bias");
  detail::GemmArgs g;
  g.trans_a = trans_a;
  g.trans_b = trans_b;
  g.batch = batch;
  g.m = m;
  g.n = n;
  g.k = k;
  g.a = a;
  g.lda = lda;
  g.stride_a = stride_a;
  g.b = b;
  g.ldb = ldb;
  g.stride_b = stride_b;
  g.c = c;
  g.ldc = ldc;
  g.stride_c = stride_c;
  g.init = static_cast<detail::GemmInitKind>(init.kind);
  g.bias = init.bias;
  g.threads = numThreads();
  detail::activeKernels().gemm(g);
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float* c, int64_t ldc, GemmInit init) {
  batchedGemm(trans_a, trans_b, 1, m, n, k, a, lda, 0, b, ldb, 0, c, ldc, 0, init);
}

void matmul(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k) {
  gemm(false, false, m, n, k, a, k, b, n, c, n);
}

void matmulNT(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k) {
  gemm(false, true, m, n, k, a, k, b, k, c, n);
}

void matmulTN(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k) {
  gemm(true, false, m, n, k, a, m, b, n, c, n);
}

void batchedMatmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n,
                   int64_t k) {
  batchedGemm(false, false, batch, m, n, k, a, k, m * k, b, n, k * n, c, n, m * n);
}

}  // namespace mlcp::ops
