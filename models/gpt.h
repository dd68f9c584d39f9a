// A small GPT-style decoder-only language model (Radford et al. 2019), byte-level.
// Layers: [embedding] [block] x L [head], so a pipeline stage cuts between blocks.
//   embedding: h = E_tok[x] + E_pos[0..T)              (dropout)
//   block:     h = h + Attn(LN1(h)),  h = h + MLP(LN2(h)),  MLP = W2 gelu(W1 .), width ffn_mult*D
//   attention: causal multi-head, softmax(Q K^T / sqrt(d_head) + mask) V, then an output proj
//   head:      logits = LN_f(h) W_vocab^T
#pragma once

#include "models/layer_model.h"

namespace mlcp::models {

struct GptShape {
  int64_t vocab = 256, d_model = 128, layers = 4, heads = 4, context = 64, ffn_mult = 4;
  double dropout = 0.0;
};

class GptEmbedding : public Layer {
 public:
  explicit GptEmbedding(const GptShape& s);
  torch::Tensor forward(const torch::Tensor& tokens) override;
  LayerCost cost() const override;

 private:
  GptShape s_;
  torch::nn::Embedding tok_{nullptr}, pos_{nullptr};
};

class GptBlock : public Layer {
 public:
  explicit GptBlock(const GptShape& s);
  torch::Tensor forward(const torch::Tensor& h) override;
  LayerCost cost() const override;

 private:
  torch::Tensor attention(const torch::Tensor& x);
  GptShape s_;
  torch::nn::LayerNorm ln1_{nullptr}, ln2_{nullptr};
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr}, fc1_{nullptr}, fc2_{nullptr};
};

class GptHead : public Layer {
 public:
  explicit GptHead(const GptShape& s);
  torch::Tensor forward(const torch::Tensor& h) override;
  LayerCost cost() const override;

 private:
  GptShape s_;
  torch::nn::LayerNorm ln_{nullptr};
  torch::nn::Linear out_{nullptr};
};

std::shared_ptr<LayerModel> buildGpt(const jobs::ModelSpec& spec, int64_t vocab);

}  // namespace mlcp::models
