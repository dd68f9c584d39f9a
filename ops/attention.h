// Causal scaled dot-product attention on [bh, t, d] blocks (bh = batch x heads), built from the
// reproducible matrix product, softmax and dropout:
//
//   forward:  S = Q·Kᵀ                                  (ops/matmul.h chains over d)
//             S_ij = S_ij / c for j <= i, -inf for j > i,  c = float(sqrt(double(d)))
//             P = softmax(S) (rows; ops/softmax.h)       -> probs, kept for the backward
//             P' = dropout(P; p, seed) over the flat [bh, t, t] index (ops/dropout.h)
//             Y = P'·V
//   backward: P' recomputed from P and the seed
//             dV  = P'ᵀ·dY,   dP' = dY·Vᵀ,   dP = dropoutBackward(dP')
//             dS  = softmaxBackward(P, dP) / c
//             dQ  = dS·K,     dK  = dSᵀ·Q
// As the GPT model computes it with LibTorch ops (att = q kᵀ / sqrt(d), masked_fill(-inf),
// softmax, dropout, att v). Threads: over batch items of each product, over rows otherwise.
#pragma once

#include <cstdint>

namespace mlcp::ops {

// Which counters the dropout of P uses. By default the flat [bh, t, t] index. Under tensor
// parallelism a rank holds `heads` of `total_heads` heads (from `first_head`) of each batch item:
// block b of this rank's bh = batch x heads blocks then uses the counters of block
// (b / heads) * total_heads + first_head + b % heads of the unsharded tensor, so every rank
// drops exactly what an unsharded run drops there.
struct HeadLayout {
  int64_t heads = 0;  // 0: the flat index
  int64_t total_heads = 0;
  int64_t first_head = 0;
};

// q, k, v, y [bh, t, d]; probs [bh, t, t] receives P (zeros above the diagonal).
void causalAttention(const float* q, const float* k, const float* v, float* y, float* probs,
                     int64_t bh, int64_t t, int64_t d, float dropout_p = 0.0f, uint64_t seed = 0,
                     const HeadLayout& layout = {});

// Gradients of q, k and v (each may be null: not computed) from dy [bh, t, d].
void causalAttentionBackward(const float* q, const float* k, const float* v, const float* probs,
                             const float* dy, float* dq, float* dk, float* dv, int64_t bh,
                             int64_t t, int64_t d, float dropout_p = 0.0f, uint64_t seed = 0,
                             const HeadLayout& layout = {});

}  // namespace mlcp::ops
