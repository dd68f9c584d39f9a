// LibTorch autograd wrappers around the reproducible operators (library mlcp_ops_torch).
//
// Each function below is a torch::autograd::Function whose forward AND backward run the
// kernels of ops/ (so the gradients are as reproducible as the values: see ops/ops.h). The
// formulas and summation orders are the kernels' (named per function). Inputs must be
// contiguous CPU float32 tensors (token and target indices: contiguous CPU int64); anything
// else is an InvalidArgument naming the function and the argument — call .contiguous() first.
// Gradients arriving from other operators are made contiguous here.
//
// Differences from the LibTorch operators they replace: the values agree to rounding (the
// tests state the tolerances); dropout draws its mask from Philox4x32-10 keyed by an explicit
// seed (ops/dropout.h), not from LibTorch's generator.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "ops/attention.h"
#include "ops/optimizer_update.h"

namespace mlcp::ops::nn {

// y = x · wᵀ + b over the last dimension: x [..., in], w [out, in], b [out] or undefined
// (ops/linear.h).
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b = {});

// y = x + b over the last dimension: x [..., n], b [n] (ops/bias.h; the bias gradient is the
// column sum of dy in ascending row order).
torch::Tensor biasAdd(const torch::Tensor& x, const torch::Tensor& b);

// c[i] = a[i] · b[i]: a [batch, m, k], b [batch, k, n] (ops/matmul.h).
torch::Tensor bmm(const torch::Tensor& a, const torch::Tensor& b);

// 3x3 convolution, stride 1, padding 1: x [n, c, h, w], w [o, c, 3, 3], b [o] or undefined
// (ops/conv2d.h).
torch::Tensor conv2d3x3(const torch::Tensor& x, const torch::Tensor& w,
                        const torch::Tensor& b = {});

// 2x2 max-pool, stride 2, on [n, c, h, w] (ops/pooling.h).
torch::Tensor maxPool2x2(const torch::Tensor& x);

// Element-wise activations (ops/elementwise.h, ops/math_functions.h).
torch::Tensor relu(const torch::Tensor& x);
torch::Tensor gelu(const torch::Tensor& x);  // the erf form, torch::gelu's default
torch::Tensor tanh(const torch::Tensor& x);

// Over the last dimension (ops/softmax.h).
torch::Tensor softmax(const torch::Tensor& x);
torch::Tensor logSoftmax(const torch::Tensor& x);

// Mean cross-entropy of logits [..., classes] against int64 targets [...] (ops/softmax.h).
torch::Tensor crossEntropy(const torch::Tensor& logits, const torch::Tensor& targets);

// Layer norm over the last dimension, weight and bias [d] or undefined (ops/layer_norm.h).
torch::Tensor layerNorm(const torch::Tensor& x, const torch::Tensor& weight,
                        const torch::Tensor& bias, double eps = 1e-5);

// table[tokens]: tokens int64 [...], table [vocab, d] -> [..., d] (ops/embedding.h).
torch::Tensor embedding(const torch::Tensor& tokens, const torch::Tensor& table);

// Counter-based dropout (ops/dropout.h): element i of x (flat index) uses the counter
// offset + i under `seed`. Identity when !training or p == 0.
torch::Tensor dropout(const torch::Tensor& x, double p, uint64_t seed, bool training = true,
                      uint64_t offset = 0);

// Causal attention on q, k, v [bh, t, d] (ops/attention.h); dropout on the probabilities with
// `seed` when p > 0, its counters laid out by `layout` (a tensor-parallel rank's heads).
torch::Tensor causalAttention(const torch::Tensor& q, const torch::Tensor& k,
                              const torch::Tensor& v, double dropout_p = 0.0, uint64_t seed = 0,
                              const HeadLayout& layout = {});

// ---- not autograd: gradient clipping and optimizer steps on tensors -----------------------

// As torch::nn::utils::clip_grad_norm_(params, max_norm): scales the defined gradients of
// `params` by the global-norm coefficient (ops/grad_clip.h) and returns the norm (0 when no
// gradient is defined).
double clipGradNorm(const std::vector<torch::Tensor>& params, double max_norm);

// Per-parameter optimizer state; created on the first step, as LibTorch does.
struct AdamWState {
  torch::Tensor exp_avg, exp_avg_sq;
  int64_t step = 0;
};

struct SgdState {
  torch::Tensor momentum_buffer;
};

// One AdamW / SGD update of `param` (in place, outside autograd) from `grad`
// (ops/optimizer_update.h). Does nothing when grad is undefined, as LibTorch skips such
// parameters.
void adamwStep(const torch::Tensor& param, const torch::Tensor& grad, AdamWState& state,
               const AdamWOptions& options);
void sgdStep(const torch::Tensor& param, const torch::Tensor& grad, SgdState& state,
             const SgdOptions& options);

}  // namespace mlcp::ops::nn
