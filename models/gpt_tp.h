// The GPT of models/gpt.h with its layers split over a tensor-parallel group of p ranks
// (Megatron-LM's layout). Same logical model, same parameter names ("layers.<i>.<...>"), same
// initial logical parameters for the same seed; each rank holds shards:
//   embedding: tok  VocabParallelEmbedding (vocabulary rows split), pos replicated
//   block:     ln1, ln2 replicated;
//              qkv  ColumnParallelLinear, 3 groups: rank r holds heads [r*H/p, (r+1)*H/p) of
//                   q, k and v (weight rows and bias), so attention runs on local heads only;
//              proj RowParallelLinear (input columns of the local heads; bias replicated);
//              fc1  ColumnParallelLinear (hidden units split), gelu local;
//              fc2  RowParallelLinear (bias replicated)
//   head:      ln replicated; out ColumnParallelLinear without gather: logits come out sharded
//              by vocabulary, [B, T, V/p], for gptTpLoss (vocabParallelCrossEntropy).
// Two sums over tp per block in forward (after proj and after fc2) and two in backward (into
// ln1's and ln2's outputs), plus one each for the embedding and the head.
//
// Dropout draws the masks the unsharded model would draw, in the same order (the attention mask
// for all heads, then this rank's heads kept: shardedDropout), so with the same generator state a
// tp run applies the same logical masks as tp = 1.
#pragma once

#include "collectives/communicator.h"
#include "models/gpt.h"
#include "models/tensor_parallel.h"

namespace mlcp::models {

class GptEmbeddingTp : public Layer {
 public:
  GptEmbeddingTp(const GptShape& s, collectives::Communicator& tp);
  torch::Tensor forward(const torch::Tensor& tokens) override;
  LayerCost cost() const override;

 private:
  GptShape s_;
  int tp_size_;
  std::shared_ptr<VocabParallelEmbedding> tok_;
  torch::nn::Embedding pos_{nullptr};
};

class GptBlockTp : public Layer {
 public:
  GptBlockTp(const GptShape& s, collectives::Communicator& tp);
  torch::Tensor forward(const torch::Tensor& h) override;
  LayerCost cost() const override;

 private:
  torch::Tensor attention(const torch::Tensor& x);
  GptShape s_;
  collectives::Communicator& tp_;
  torch::nn::LayerNorm ln1_{nullptr}, ln2_{nullptr};
  std::shared_ptr<ColumnParallelLinear> qkv_, fc1_;
  std::shared_ptr<RowParallelLinear> proj_, fc2_;
};

// Returns vocabulary-sharded logits [B, T, V/p] (gatherFromTensorParallel gives full ones).
class GptHeadTp : public Layer {
 public:
  GptHeadTp(const GptShape& s, collectives::Communicator& tp);
  torch::Tensor forward(const torch::Tensor& h) override;
  LayerCost cost() const override;

 private:
  GptShape s_;
  int tp_size_;
  torch::nn::LayerNorm ln_{nullptr};
  std::shared_ptr<ColumnParallelLinear> out_;
};

// Throws UsageError naming the field when the GPT cannot be split over `tp` ranks: heads,
// vocabulary and the MLP width must each be divisible by tp.
void checkGptTensorParallel(const jobs::ModelSpec& spec, int64_t vocab, int tp);

// The tensor-parallel GPT (kind "gpt_tp") on the group `tp`, which must outlive the model.
// Initial parameters: the unsharded GPT is built exactly as buildModel(spec, vocab, seed) does
// (torch::manual_seed(seed), then construction), and each rank copies its slices
// (loadLogicalParameters). The default generator is left where buildModel leaves it, so later
// draws (dropout) match a tp = 1 run. Every tp rank must call this with the same arguments.
std::shared_ptr<LayerModel> buildGptTp(const jobs::ModelSpec& spec, int64_t vocab, uint64_t seed,
                                       collectives::Communicator& tp);

// Mean cross-entropy over all tokens of vocabulary-sharded logits [..., V/p] against global
// targets [...]: equal on every tp rank (bitwise). With tp = 1 it is LayerModel::loss, so a
// tp = 1 model gives the bits of models/gpt.cc's GPT (tested).
torch::Tensor gptTpLoss(const torch::Tensor& logits_shard, const torch::Tensor& target,
                        collectives::Communicator& tp);

}  // namespace mlcp::models
