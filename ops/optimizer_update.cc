#include "ops/optimizer_update.h"

#include <cmath>

#include "base/error.h"
#include "ops/detail/kernel_table.h"
#include "ops/parallel.h"

namespace mlcp::ops {
namespace {

// base^n by binary exponentiation in double: a fixed sequence of IEEE multiplications, the same
// bits with every C library (std::pow's last bit is the library's choice).
double powerOf(double base, int64_t n) {
  double result = 1.0;
  for (; n > 0; n >>= 1) {
    if (n & 1) result *= base;
    base *= base;
  }
  return result;
}

}  // namespace

namespace {

constexpr int64_t kGrain = 16384;

}  // namespace

void adamwUpdate(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
                 int64_t step, const AdamWOptions& o) {
  require(n >= 0, "ops::adamwUpdate: negative length");
  require(step >= 1, "ops::adamwUpdate: step counts from 1");
  detail::AdamWCoefficients c;
  c.decay = o.weight_decay != 0;
  c.decay_factor = static_cast<float>(1 - o.lr * o.weight_decay);
  c.beta1 = static_cast<float>(o.beta1);
  c.one_minus_beta1 = static_cast<float>(1 - o.beta1);
  c.beta2 = static_cast<float>(o.beta2);
  c.one_minus_beta2 = static_cast<float>(1 - o.beta2);
  const double bias_correction1 = 1 - powerOf(o.beta1, step);
  const double bias_correction2 = 1 - powerOf(o.beta2, step);
  c.sqrt_bias_correction2 = static_cast<float>(std::sqrt(bias_correction2));
  c.eps = static_cast<float>(o.eps);
  c.neg_step_size = static_cast<float>(-(o.lr / bias_correction1));
  const auto& k = detail::activeKernels();
  parallelFor(n, kGrain, [&](int64_t i0, int64_t i1) {
    k.adamw(param + i0, grad + i0, exp_avg + i0, exp_avg_sq + i0, i1 - i0, c);
  });
}

void sgdUpdate(float* param, const float* grad, float* momentum_buffer, int64_t n, bool first_step,
               const SgdOptions& o) {
  require(n >= 0, "ops::sgdUpdate: negative length");
  require(o.momentum == 0 || momentum_buffer != nullptr,
          "ops::sgdUpdate: momentum needs a momentum buffer");
  detail::SgdCoefficients c;
  c.decay = o.weight_decay != 0;
  c.use_momentum = o.momentum != 0;
  c.nesterov = o.nesterov;
  c.first_step = first_step;
  c.weight_decay = static_cast<float>(o.weight_decay);
  c.momentum = static_cast<float>(o.momentum);
  c.one_minus_dampening = static_cast<float>(1 - o.dampening);
  c.neg_lr = static_cast<float>(-1 * o.lr);
  const auto& k = detail::activeKernels();
  parallelFor(n, kGrain, [&](int64_t i0, int64_t i1) {
    k.sgd(param + i0, grad + i0, momentum_buffer != nullptr ? momentum_buffer + i0 : nullptr,
          i1 - i0, c);
  });
}

}  // namespace mlcp::ops
