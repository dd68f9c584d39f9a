// AdamW and SGD parameter updates with the float operations LibTorch 1.13's torch::optim::AdamW
// / SGD perform on CPU float tensors on an AVX2 or AVX-512 CPU: the vector kernels behind mul_,
// add_(t, alpha) (an fma, vec::fmadd), addcmul_ (self + value * t1 * t2, which Debian's
// libtorch 1.13 build contracts to fma(value * t1, t2, self): measured, tests/ops/
// test_ops_torch.cc), addcdiv_ (self + value * t1 / t2), sqrt and div. Double hyper-parameters
// are rounded to float where LibTorch rounds them. (LibTorch's own scalar tails and its
// non-vector build may round differently; these formulas are the same on every path here.)
//
// AdamW, per element, step = the update's number (1 for the first):
//   if weight_decay != 0:  p = p * float(1 - lr * weight_decay)
//   m = m * float(beta1);  m = fma(g, float(1 - beta1), m)
//   v = v * float(beta2);  v = fma(float(1 - beta2) * g, g, v)
//   denom = sqrt(v) / float(sqrt(bc2)) + float(eps)            bc2 = 1 - beta2^step (double)
//   p = p + (float(-lr / bc1) * m) / denom                     bc1 = 1 - beta1^step (double)
// beta^step is computed by binary exponentiation in double (a fixed sequence of products), not
// std::pow, whose last bit differs between C libraries; so the bias corrections can differ from
// LibTorch's in the last bit of a double.
// (amsgrad is not supported.)
//
// SGD, per element (first_step: the momentum buffer does not exist yet):
//   d = g;  if weight_decay != 0:  d = fma(p, float(weight_decay), g)
//   if momentum != 0:
//     buf = first_step ? d : fma(d, float(1 - dampening), buf * float(momentum))
//     d = nesterov ? fma(buf, float(momentum), d) : buf
//   p = fma(d, float(-lr), p)
// Every element is independent: the result does not depend on the path or the threads.
#pragma once

#include <cstdint>

namespace mlcp::ops {

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;  // torch::optim::AdamWOptions' default
};

struct SgdOptions {
  double lr = 0.01;
  double momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
};

// One AdamW update of n elements; exp_avg and exp_avg_sq start as zeros before step 1.
void adamwUpdate(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
                 int64_t step, const AdamWOptions& options);

// One SGD update; momentum_buffer (n floats) is written on the first step and used after it;
// it may be null when momentum is 0.
void sgdUpdate(float* param, const float* grad, float* momentum_buffer, int64_t n, bool first_step,
               const SgdOptions& options);

}  // namespace mlcp::ops
