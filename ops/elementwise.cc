#include "ops/elementwise.h"

#include "base/error.h"
#include "ops/detail/kernel_table.h"
#include "ops/parallel.h"

namespace mlcp::ops {
namespace {

constexpr int64_t kGrain = 16384;

void unary(detail::Unary op, const float* x, float* y, int64_t n) {
  require(n >= 0, "ops: negative length");
  const auto& k = detail::activeKernels();
  parallelFor(n, kGrain, [&](int64_t i0, int64_t i1) { k.unary(op, x + i0, y + i0, i1 - i0); });
}

void binary(detail::Binary op, const float* a, const float* b, float* y, int64_t n) {
  require(n >= 0, "ops: negative length");
  const auto& k = detail::activeKernels();
  parallelFor(n, kGrain,
              [&](int64_t i0, int64_t i1) { k.binary(op, a + i0, b + i0, y + i0, i1 - i0); });
}

}  // namespace

void relu(const float* x, float* y, int64_t n) { unary(detail::Unary::kRelu, x, y, n); }
void reluBackward(const float* y, const float* dy, float* dx, int64_t n) {
  binary(detail::Binary::kReluBackward, y, dy, dx, n);
}
void gelu(const float* x, float* y, int64_t n) { unary(detail::Unary::kGelu, x, y, n); }
void geluBackward(const float* x, const float* dy, float* dx, int64_t n) {
  binary(detail::Binary::kGeluBackward, x, dy, dx, n);
}
void tanhBackward(const float* y, const float* dy, float* dx, int64_t n) {
  binary(detail::Binary::kTanhBackward, y, dy, dx, n);
}
void add(const float* a, const float* b, float* y, int64_t n) {
  binary(detail::Binary::kAdd, a, b, y, n);
}
void mul(const float* a, const float* b, float* y, int64_t n) {
  binary(detail::Binary::kMul, a, b, y, n);
}

void scale(const float* x, float s, float* y, int64_t n) {
  require(n >= 0, "ops: negative length");
  const auto& k = detail::activeKernels();
  parallelFor(n, kGrain, [&](int64_t i0, int64_t i1) { k.scale(x + i0, s, y + i0, i1 - i0); });
}

}  // namespace mlcp::ops
