// Gradient clipping by the global L2 norm, as torch::nn::utils::clip_grad_norm_ (LibTorch 1.13,
// norm_type 2) computes it, with every sum in a fixed order:
//   norm_i = sqrt(sumOfSquares(g_i))                       (ops/reduction.h's order)
//   total  = norm_0 if there is one tensor, else sqrt(chain over i ascending of
//            fma(norm_i, norm_i, .) from +0)
//   coef   = float(max_norm) / (total + float(1e-6)), clamped to at most 1 (NaN stays NaN)
//   g_i    = g_i * coef for every tensor (even when coef is 1, as LibTorch)
// LibTorch sums the stacked norms in its own order; the formula is otherwise the same.
#pragma once

#include <cstdint>
#include <vector>

namespace mlcp::ops {

struct FloatSpan {
  float* data = nullptr;
  int64_t size = 0;
};

struct ConstFloatSpan {
  const float* data = nullptr;
  int64_t size = 0;
};

// The global L2 norm of the tensors, in the order above: combineL2Norms of each l2Norm.
float globalL2Norm(const std::vector<ConstFloatSpan>& tensors);
// norm_i above: sqrt(sumOfSquares(x)).
float l2Norm(const float* x, int64_t n);
// total above, from the n per-tensor norms (0 when n = 0). For callers whose tensors live on
// several ranks: gather the per-tensor norms in one global order, then combine.
float combineL2Norms(const float* norms, int64_t n);

// min(1, float(max_norm) / (total_norm + float(1e-6))).
float clipCoefficient(float total_norm, double max_norm);

// Scales every gradient by clipCoefficient(globalL2Norm(grads), max_norm); returns the norm.
float clipGradNorm(const std::vector<FloatSpan>& grads, double max_norm);

}  // namespace mlcp::ops
