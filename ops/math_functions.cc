#include "ops/math_functions.h"

#include "base/error.h"
#include "ops/detail/kernel_table.h"
#include "ops/parallel.h"

namespace mlcp::ops {
namespace {

constexpr int64_t kGrain = 8192;

float one(detail::Unary op, float x) {
  float y;
  detail::scalarKernels().unary(op, &x, &y, 1);
  return y;
}

void many(detail::Unary op, const float* x, float* y, int64_t n) {
  require(n >= 0, "ops: negative length");
  const auto& k = detail::activeKernels();
  parallelFor(n, kGrain, [&](int64_t i0, int64_t i1) { k.unary(op, x + i0, y + i0, i1 - i0); });
}

}  // namespace

float exp(float x) { return one(detail::Unary::kExp, x); }
float log(float x) { return one(detail::Unary::kLog, x); }
float tanh(float x) { return one(detail::Unary::kTanh, x); }
float erf(float x) { return one(detail::Unary::kErf, x); }

void exp(const float* x, float* y, int64_t n) { many(detail::Unary::kExp, x, y, n); }
void log(const float* x, float* y, int64_t n) { many(detail::Unary::kLog, x, y, n); }
void tanh(const float* x, float* y, int64_t n) { many(detail::Unary::kTanh, x, y, n); }
void erf(const float* x, float* y, int64_t n) { many(detail::Unary::kErf, x, y, n); }

}  // namespace mlcp::ops
