#include "models/gpt_tp.h"

#include <cmath>
#include <limits>

#include "jobs/job_spec.h"
#include "runtime/error.h"

namespace mlcp::models {

GptEmbeddingTp::GptEmbeddingTp(const GptShape& s, collectives::Communicator& tp)
    : s_(s), tp_size_(tp.size()) {
  tok_ = register_module("tok", std::make_shared<VocabParallelEmbedding>(s.vocab, s.d_model, tp));
  pos_ = register_module("pos", torch::nn::Embedding(s.context, s.d_model));
}

torch::Tensor GptEmbeddingTp::forward(const torch::Tensor& tokens) {
  const int64_t t = tokens.size(1);
  auto h = tok_->forward(tokens) + pos_->forward(torch::arange(t, torch::kInt64)).unsqueeze(0);
  // h is replicated (bitwise equal on every tp rank): the same mask as tp = 1 on every rank.
  return torch::dropout(h, s_.dropout, is_training());
}

LayerCost GptEmbeddingTp::cost() const {
  LayerCost c;
  c.name = "embedding (tp)";
  c.forward_flops = 1.0 * s_.context * s_.d_model;
  c.backward_flops = 2 * c.forward_flops;
  c.param_bytes = 4.0 * (s_.vocab / tp_size_ + s_.context) * s_.d_model;
  c.activation_bytes = 4.0 * s_.context * s_.d_model;
  return c;
}

GptBlockTp::GptBlockTp(const GptShape& s, collectives::Communicator& tp) : s_(s), tp_(tp) {
  const int64_t d = s.d_model;
  ln1_ = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  qkv_ = register_module("qkv", std::make_shared<ColumnParallelLinear>(d, 3 * d, true, false, tp,
                                                                       /*groups=*/3));
  proj_ = register_module("proj", std::make_shared<RowParallelLinear>(d, d, true, true, tp));
  ln2_ = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  fc1_ = register_module(
      "fc1", std::make_shared<ColumnParallelLinear>(d, s.ffn_mult * d, true, false, tp));
  fc2_ = register_module("fc2",
                         std::make_shared<RowParallelLinear>(s.ffn_mult * d, d, true, true, tp));
}

// The attention of GptBlock on this rank's H/p heads: q, k, v of local head j are columns
// [j*hd, (j+1)*hd) of each of the three groups of the qkv shard, as in the unsharded layout.
torch::Tensor GptBlockTp::attention(const torch::Tensor& x) {
  const int64_t b = x.size(0), t = x.size(1), hd = s_.d_model / s_.heads;
  const int64_t h = s_.heads / tp_.size();
  auto qkv = qkv_->forward(x).view({b, t, 3, h, hd}).permute({2, 0, 3, 1, 4});  // 3,B,h,T,hd
  auto q = qkv[0], k = qkv[1], v = qkv[2];
  auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd));
  auto mask = torch::ones({t, t}, torch::kBool).triu(1);
  att = torch::softmax(att.masked_fill(mask, -std::numeric_limits<float>::infinity()), -1);
  att = shardedDropout(att, s_.dropout, is_training(), {b, s_.heads, t, t}, 1, tp_.rank());
  auto y = torch::matmul(att, v).transpose(1, 2).reshape({b, t, h * hd});
  return torch::dropout(proj_->forward(y), s_.dropout, is_training());
}

torch::Tensor GptBlockTp::forward(const torch::Tensor& h) {
  auto x = h + attention(ln1_->forward(h));
  auto m = fc2_->forward(torch::gelu(fc1_->forward(ln2_->forward(x))));
  return x + torch::dropout(m, s_.dropout, is_training());
}

LayerCost GptBlockTp::cost() const {
  const double d = static_cast<double>(s_.d_model), t = static_cast<double>(s_.context);
  const double p = tp_.size();
  LayerCost c;
  c.name = "block (tp)";
  // The unsharded block's matmuls and attention divided over p; LayerNorms are not (small).
  c.forward_flops =
      (t * (2 * d * 3 * d + 2 * d * d + 2 * 2 * d * s_.ffn_mult * d) + 2 * 2 * t * t * d) / p;
  c.backward_flops = 2 * c.forward_flops;
  c.param_bytes = 4.0 * (4 * d * d + 2 * s_.ffn_mult * d * d) / p;
  c.activation_bytes = 4.0 * t * d * (4 + (6 + 2 * s_.ffn_mult) / p);
  return c;
}

GptHeadTp::GptHeadTp(const GptShape& s, collectives::Communicator& tp)
    : s_(s), tp_size_(tp.size()) {
  ln_ = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({s.d_model})));
  out_ = register_module(
      "out", std::make_shared<ColumnParallelLinear>(s.d_model, s.vocab, false, false, tp));
}

torch::Tensor GptHeadTp::forward(const torch::Tensor& h) { return out_->forward(ln_->forward(h)); }

LayerCost GptHeadTp::cost() const {
  LayerCost c;
  c.name = "head (tp)";
  c.forward_flops = 2.0 * s_.context * s_.d_model * s_.vocab / tp_size_;
  c.backward_flops = 2 * c.forward_flops;
  c.param_bytes = 4.0 * s_.d_model * s_.vocab / tp_size_;
  c.activation_bytes = 4.0 * s_.context * s_.vocab / tp_size_;
  return c;
}

void checkGptTensorParallel(const jobs::ModelSpec& spec, int64_t vocab, int tp) {
  auto need = [&](int64_t value, const std::string& field) {
    if (tp <= 0 || value % tp != 0)
      throw UsageError(field + " = " + std::to_string(value) + " is not divisible by tp = " +
                       std::to_string(tp) + " (tensor parallelism splits it evenly)");
  };
  if (spec.kind != "gpt")
    throw UsageError("tensor parallelism (tp = " + std::to_string(tp) +
                     ") needs model.kind = \"gpt\", not '" + spec.kind + "'");
  need(spec.heads, "model.heads");
  need(vocab, "the vocabulary size");
  need(spec.ffn_mult * spec.d_model, "model.ffn_mult * model.d_model");
}

std::shared_ptr<LayerModel> buildGptTp(const jobs::ModelSpec& spec, int64_t vocab, uint64_t seed,
                                       collectives::Communicator& tp) {
  checkGptTensorParallel(spec, vocab, tp.size());
  GptShape s;
  s.vocab = vocab;
  s.d_model = spec.d_model;
  s.layers = spec.layers;
  s.heads = spec.heads;
  s.context = spec.context;
  s.ffn_mult = spec.ffn_mult;
  s.dropout = spec.dropout;
  std::vector<std::shared_ptr<Layer>> layers;
  layers.push_back(std::make_shared<GptEmbeddingTp>(s, tp));
  for (int64_t i = 0; i < s.layers; ++i) layers.push_back(std::make_shared<GptBlockTp>(s, tp));
  layers.push_back(std::make_shared<GptHeadTp>(s, tp));
  auto model = std::make_shared<LayerModel>("gpt_tp", std::move(layers));
  // Built after the shards (whose construction may draw from the generator), so the generator
  // ends exactly where buildModel leaves it in a tp = 1 run.
  auto logical = buildModel(spec, vocab, seed);
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& p : logical->named_parameters()) named.emplace_back(p.key(), p.value());
  loadLogicalParameters(*model, named, tp.rank(), tp.size());
  return model;
}

torch::Tensor gptTpLoss(const torch::Tensor& logits_shard, const torch::Tensor& target,
                        collectives::Communicator& tp) {
  // One rank holds the whole vocabulary: the unsharded model's own loss, so tp = 1 runs the
  // same ops as models/gpt.cc and gives its bits.
  if (tp.size() == 1) return LayerModel::loss(logits_shard, target);
  return vocabParallelCrossEntropy(logits_shard, target, tp).mean();
}

}  // namespace mlcp::models
