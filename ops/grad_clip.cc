#include "ops/grad_clip.h"

#include <cmath>

#include "ops/elementwise.h"
#include "ops/reduction.h"

namespace mlcp::ops {

float l2Norm(const float* x, int64_t n) { return std::sqrt(sumOfSquares(x, n)); }

float combineL2Norms(const float* norms, int64_t n) {
  if (n <= 0) return 0.0f;
  if (n == 1) return norms[0];
  float acc = 0.0f;
  for (int64_t i = 0; i < n; ++i) acc = std::fma(norms[i], norms[i], acc);
  return std::sqrt(acc);
}

float globalL2Norm(const std::vector<ConstFloatSpan>& tensors) {
  std::vector<float> norms;
  norms.reserve(tensors.size());
  for (const auto& t : tensors) norms.push_back(l2Norm(t.data, t.size));
  return combineL2Norms(norms.data(), static_cast<int64_t>(norms.size()));
}

float clipCoefficient(float total_norm, double max_norm) {
  const float coef = static_cast<float>(max_norm) / (total_norm + static_cast<float>(1e-6));
  return coef > 1.0f ? 1.0f : coef;
}

float clipGradNorm(const std::vector<FloatSpan>& grads, double max_norm) {
  std::vector<ConstFloatSpan> views;
  views.reserve(grads.size());
  for (const auto& g : grads) views.push_back({g.data, g.size});
  const float total = globalL2Norm(views);
  const float coef = clipCoefficient(total, max_norm);
  for (const auto& g : grads) scale(g.data, coef, g.data, g.size);
  return total;
}

}  // namespace mlcp::ops
