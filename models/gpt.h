// A small GPT-style decoder-only language model (Radford et al. 2019), byte-level, whose layers
// may be split over a tensor-parallel group of p ranks (Megatron-LM's layout). One model: p = 1
// (no group) is the unsharded GPT, running exactly the ops of an unsharded Linear/Embedding.
// Layers: [embedding] [block] x L [head], so a pipeline stage cuts between blocks.
//   embedding: h = E_tok[x] + E_pos[0..T)              (dropout)
//   block:     h = h + Attn(LN1(h)),  h = h + MLP(LN2(h)),  MLP = W2 gelu(W1 .), width ffn_mult*D
//   attention: causal multi-head, softmax(Q K^T / sqrt(d_head) + mask) V, then an output proj
//   head:      logits = LN_f(h) W_vocab^T
//
// Under tensor parallelism each rank holds shards, with the same parameter names
// ("layers.<i>.<...>") and the same initial logical parameters for the same seed:
//   embedding: tok  VocabParallelEmbedding (vocabulary rows split), pos replicated
//   block:     ln1, ln2 replicated;
//              qkv  ColumnParallelLinear, 3 groups: rank r holds heads [r*H/p, (r+1)*H/p) of
//                   q, k and v (weight rows and bias), so attention runs on local heads only;
//              proj RowParallelLinear (input columns of the local heads; bias replicated);
//              fc1  ColumnParallelLinear (hidden units split), gelu local;
//              fc2  RowParallelLinear (bias replicated)
//   head:      ln replicated; out ColumnParallelLinear without gather: logits come out sharded
//              by vocabulary, [B, T, V/p], for gptLoss (vocabParallelCrossEntropy).
// Two sums over tp per block in forward (after proj and after fc2) and two in backward (into
// ln1's and ln2's outputs), plus one each for the embedding and the head. Dropout draws the masks
// the unsharded model would draw, in the same order (the attention mask for all heads, then this
// rank's heads kept: shardedDropout), so a tp run applies the same logical masks as p = 1.
// Splitting a matmul's inner dimension changes its float sums: p is part of the logical program
// (docs/tensor-parallel.md).
#pragma once

#include "collectives/communicator.h"
#include "models/layer_model.h"
#include "models/tensor_parallel.h"

namespace mlcp::models {

struct GptShape {
  int64_t vocab = 256, d_model = 128, layers = 4, heads = 4, context = 64, ffn_mult = 4;
  double dropout = 0.0;
};

// Every layer takes the tensor-parallel group (nullptr: none) and its operators. Native
// initialisation: without a group the parameters are drawn here, from the default generator;
// with one they are allocated and loadLogicalParameters fills them from the unsharded model
// (buildGpt). Reproducible: buildModel draws them (initOf gives GPT-2's rules).
class GptEmbedding : public Layer {
 public:
  GptEmbedding(const GptShape& s, collectives::Communicator* tp, Operators ops);
  torch::Tensor forward(const torch::Tensor& tokens) override;
  LayerCost cost() const override;
  ParameterInit initOf(const std::string& name) const override;

 private:
  GptShape s_;
  std::shared_ptr<VocabParallelEmbedding> tok_;
  torch::nn::Embedding pos_{nullptr};
};

class GptBlock : public Layer {
 public:
  GptBlock(const GptShape& s, collectives::Communicator* tp, Operators ops);
  torch::Tensor forward(const torch::Tensor& h) override;
  LayerCost cost() const override;
  ParameterInit initOf(const std::string& name) const override;

 private:
  torch::Tensor attention(const torch::Tensor& x);
  GptShape s_;
  collectives::Communicator* tp_;
  torch::nn::LayerNorm ln1_{nullptr}, ln2_{nullptr};  // parameters only: ops() computes
  std::shared_ptr<ColumnParallelLinear> qkv_, fc1_;
  std::shared_ptr<RowParallelLinear> proj_, fc2_;
};

// Under tp returns vocabulary-sharded logits [B, T, V/p].
class GptHead : public Layer {
 public:
  GptHead(const GptShape& s, collectives::Communicator* tp, Operators ops);
  torch::Tensor forward(const torch::Tensor& h) override;
  LayerCost cost() const override;
  ParameterInit initOf(const std::string& name) const override;

 private:
  GptShape s_;
  torch::nn::LayerNorm ln_{nullptr};
  std::shared_ptr<ColumnParallelLinear> out_;
};

// Throws UsageError naming the field when the GPT cannot be split over `tp` ranks: heads,
// vocabulary and the MLP width must each be divisible by tp (and tp >= 2).
void checkGptTensorParallel(const jobs::ModelSpec& spec, int64_t vocab, int tp);

// The GPT of `spec` (vocabulary `vocab`); use buildModel, which also draws the reproducible
// set's initial parameters. Native: without `tp` its parameters are drawn from the default
// generator in construction order (buildModel seeds it); with `tp` (which must outlive the
// model) the unsharded GPT is built from `seed` exactly so and each rank copies its slices.
// Every tp rank calls this with the same arguments.
std::shared_ptr<LayerModel> buildGpt(const jobs::ModelSpec& spec, int64_t vocab, uint64_t seed,
                                     collectives::Communicator* tp, Operators ops);

// Mean cross-entropy over all tokens: Operators::crossEntropy without a group (or a group of
// one); with one, of vocabulary-sharded logits [..., V/p] against global targets [...], equal on
// every tp rank (bitwise).
torch::Tensor gptLoss(const torch::Tensor& logits, const torch::Tensor& target,
                      collectives::Communicator* tp, const Operators& ops = Operators());

}  // namespace mlcp::models
