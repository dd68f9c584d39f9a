#include "ops/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/error.h"
#include "ops/dropout.h"
#include "ops/matmul.h"
#include "ops/parallel.h"
#include "ops/softmax.h"

namespace mlcp::ops {
namespace {

float scaleDivisor(int64_t d) { return static_cast<float>(std::sqrt(static_cast<double>(d))); }

void check(int64_t bh, int64_t t, int64_t d, float p) {
  require(bh >= 0 && t >= 0 && d >= 0, "ops::causalAttention: negative extent");
  require(p >= 0.0f && p <= 1.0f, "ops::causalAttention: dropout probability not in [0, 1]");
}

// Dropout (or its backward) of P [bh, t, t] with the counters `layout` names.
void dropProbabilities(const float* in, float* out, int64_t bh, int64_t tt, float p, uint64_t seed,
                       const HeadLayout& layout, bool backward) {
  auto apply = [&](int64_t first, int64_t n, uint64_t offset) {
    if (backward) {
      dropoutBackward(in + first, out + first, n, p, seed, offset);
    } else {
      dropout(in + first, out + first, n, p, seed, offset);
    }
  };
  if (layout.heads <= 0) {
    apply(0, bh * tt, 0);
    return;
  }
  require(bh % layout.heads == 0 && layout.first_head + layout.heads <= layout.total_heads,
          "ops::causalAttention: head layout does not fit the blocks");
  for (int64_t b = 0; b < bh; ++b) {
    const int64_t global =
        (b / layout.heads) * layout.total_heads + layout.first_head + b % layout.heads;
    apply(b * tt, tt, static_cast<uint64_t>(global * tt));
  }
}

}  // namespace

void causalAttention(const float* q, const float* k, const float* v, float* y, float* probs,
                     int64_t bh, int64_t t, int64_t d, float dropout_p, uint64_t seed,
                     const HeadLayout& layout) {
  check(bh, t, d, dropout_p);
  if (bh == 0 || t == 0) return;
  const int64_t tt = t * t;
  batchedGemm(false, true, bh, t, t, d, q, d, t * d, k, d, t * d, probs, t, tt);
  const float c = scaleDivisor(d);
  const float neg_inf = -std::numeric_limits<float>::infinity();
  parallelFor(bh * t, std::max<int64_t>(1, 16384 / t), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* row = probs + r * t;
      const int64_t i = r % t;
      for (int64_t j = 0; j <= i; ++j) row[j] = row[j] / c;
      for (int64_t j = i + 1; j < t; ++j) row[j] = neg_inf;
    }
  });
  softmax(probs, probs, bh * t, t);
  const float* mixed = probs;
  std::vector<float> dropped;
  if (dropout_p > 0.0f) {
    dropped.resize(static_cast<size_t>(bh * tt));
    dropProbabilities(probs, dropped.data(), bh, tt, dropout_p, seed, layout, false);
    mixed = dropped.data();
  }
  batchedGemm(false, false, bh, t, d, t, mixed, t, tt, v, d, t * d, y, d, t * d);
}

void causalAttentionBackward(const float* q, const float* k, const float* v, const float* probs,
                             const float* dy, float* dq, float* dk, float* dv, int64_t bh,
                             int64_t t, int64_t d, float dropout_p, uint64_t seed,
                             const HeadLayout& layout) {
  check(bh, t, d, dropout_p);
  if (bh == 0 || t == 0) return;
  const int64_t tt = t * t;
  if (dv != nullptr) {
    const float* mixed = probs;
    std::vector<float> dropped;
    if (dropout_p > 0.0f) {
      dropped.resize(static_cast<size_t>(bh * tt));
      dropProbabilities(probs, dropped.data(), bh, tt, dropout_p, seed, layout, false);
      mixed = dropped.data();
    }
    batchedGemm(true, false, bh, t, d, t, mixed, t, tt, dy, d, t * d, dv, d, t * d);
  }
  if (dq == nullptr && dk == nullptr) return;
  std::vector<float> ds(static_cast<size_t>(bh * tt));
  batchedGemm(false, true, bh, t, t, d, dy, d, t * d, v, d, t * d, ds.data(), t, tt);
  if (dropout_p > 0.0f) {
    dropProbabilities(ds.data(), ds.data(), bh, tt, dropout_p, seed, layout, true);
  }
  softmaxBackward(probs, ds.data(), ds.data(), bh * t, t);
  const float c = scaleDivisor(d);
  parallelFor(bh * tt, 16384, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) ds[static_cast<size_t>(i)] = ds[static_cast<size_t>(i)] / c;
  });
  if (dq != nullptr) {
    batchedGemm(false, false, bh, t, d, t, ds.data(), t, tt, k, d, t * d, dq, d, t * d);
  }
  if (dk != nullptr) {
    batchedGemm(true, false, bh, t, d, t, ds.data(), t, tt, q, d, t * d, dk, d, t * d);
  }
}

}  // namespace mlcp::ops
