#include "models/gpt.h"

#include <cmath>

#include "base/error.h"
#include "jobs/job_spec.h"

namespace mlcp::models {
namespace {

// The draws torch::nn::Linear's construction makes (kaiming-uniform weight, uniform bias),
// whose values GPT-2's initialisation then overwrites. mlcp's GPT was first built from
// torch::nn::Linear modules; replaying their draws keeps every job's initial parameters — and so
// its results — what they have always been.
void drawLikeLinearConstruction(torch::Tensor& weight, torch::Tensor& bias) {
  torch::NoGradGuard g;
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const auto fans = torch::nn::init::_calculate_fan_in_and_fan_out(weight);
    const double bound = 1.0 / std::sqrt(static_cast<double>(std::get<0>(fans)));
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

// GPT-2's scaled initialisation of the residual output projections: 1/sqrt(2 L) times 0.02, so
// the residual stream's variance does not grow with depth.
double residualStd(const GptShape& s) {
  return 0.02 / std::sqrt(2.0 * static_cast<double>(s.layers));
}

// GPT-2 initialisation: N(0, std) weights, zero biases.
void initGpt2(torch::Tensor& weight, torch::Tensor& bias, double std) {
  torch::NoGradGuard g;
  weight.normal_(0.0, std);
  if (bias.defined()) bias.zero_();
}

}  // namespace

GptEmbedding::GptEmbedding(const GptShape& s, collectives::Communicator* tp, Operators ops)
    : Layer(ops), s_(s) {
  torch::NoGradGuard g;
  tok_ =
      register_module("tok", std::make_shared<VocabParallelEmbedding>(s.vocab, s.d_model, tp, ops));
  // The draws of torch::nn::Embedding's construction — N(0, 1) for the token table, then the
  // position table's (which constructing it here makes) — then GPT-2's N(0, 0.02) for both.
  if (tp == nullptr) tok_->weight.normal_();
  pos_ = register_module("pos", torch::nn::Embedding(s.context, s.d_model));
  if (tp != nullptr) return;
  tok_->weight.normal_(0.0, 0.02);
  pos_->weight.normal_(0.0, 0.02);
}

torch::Tensor GptEmbedding::forward(const torch::Tensor& tokens) {
  const int64_t b = tokens.size(0), t = tokens.size(1);
  auto positions = torch::arange(t, torch::kInt64);
  // Native broadcasts the [T, D] position rows over the batch (LibTorch sums their gradient);
  // reproducible looks them up per token, so the embedding's backward sums them in its order.
  auto pos = ops().reproducible()
                 ? ops().embedding(positions.unsqueeze(0).expand({b, t}), pos_->weight)
                 : ops().embedding(positions, pos_->weight).unsqueeze(0);
  auto h = tok_->forward(tokens) + pos;
  // Under tp h is replicated (bitwise equal on every rank): the same mask on every rank.
  return ops().dropout(h, s_.dropout, is_training());
}

ParameterInit GptEmbedding::initOf(const std::string&) const {
  return ParameterInit::normal(0.0, 0.02);
}

LayerCost GptEmbedding::cost() const {
  LayerCost c;
  c.name = "embedding";
  c.flops_fwd = 1.0 * s_.context * s_.d_model;
  c.flops_bwd = 2 * c.flops_fwd;
  c.param_bytes = static_cast<int64_t>(4.0 * (s_.vocab + s_.context) * s_.d_model);
  c.activation_bytes = static_cast<int64_t>(4.0 * s_.context * s_.d_model);
  c.output_bytes = c.activation_bytes;
  return c;
}

GptBlock::GptBlock(const GptShape& s, collectives::Communicator* tp, Operators ops)
    : Layer(ops), s_(s), tp_(tp) {
  const int64_t d = s.d_model;
  ln1_ = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  qkv_ = register_module("qkv", std::make_shared<ColumnParallelLinear>(d, 3 * d, true, false, tp,
                                                                       /*groups=*/3, ops));
  proj_ = register_module("proj", std::make_shared<RowParallelLinear>(d, d, true, true, tp, ops));
  ln2_ = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  fc1_ = register_module(
      "fc1", std::make_shared<ColumnParallelLinear>(d, s.ffn_mult * d, true, false, tp, 1, ops));
  fc2_ = register_module(
      "fc2", std::make_shared<RowParallelLinear>(s.ffn_mult * d, d, true, true, tp, ops));
  if (tp != nullptr) return;
  drawLikeLinearConstruction(qkv_->weight, qkv_->bias);
  drawLikeLinearConstruction(proj_->weight, proj_->bias);
  drawLikeLinearConstruction(fc1_->weight, fc1_->bias);
  drawLikeLinearConstruction(fc2_->weight, fc2_->bias);
  initGpt2(qkv_->weight, qkv_->bias, 0.02);
  initGpt2(proj_->weight, proj_->bias, residualStd(s));
  initGpt2(fc1_->weight, fc1_->bias, 0.02);
  initGpt2(fc2_->weight, fc2_->bias, residualStd(s));
}

ParameterInit GptBlock::initOf(const std::string& name) const {
  if (name == "ln1.weight" || name == "ln2.weight") return ParameterInit::constant(1.0);
  if (name == "proj.weight" || name == "fc2.weight")
    return ParameterInit::normal(0.0, residualStd(s_));
  if (name == "qkv.weight" || name == "fc1.weight") return ParameterInit::normal(0.0, 0.02);
  return ParameterInit::constant(0.0);  // biases
}

// Attention on this rank's H/p heads: q, k, v of local head j are columns [j*hd, (j+1)*hd) of
// each of the three groups of the qkv output, as in the unsharded layout.
torch::Tensor GptBlock::attention(const torch::Tensor& x) {
  const int64_t b = x.size(0), t = x.size(1), hd = s_.d_model / s_.heads;
  const int64_t h = s_.heads / groupSize(tp_);
  auto qkv = qkv_->forward(x).view({b, t, 3, h, hd}).permute({2, 0, 3, 1, 4});  // 3,B,h,T,hd
  const AttentionHeads heads =
      tp_ == nullptr ? AttentionHeads{} : AttentionHeads{h, s_.heads, tp_->rank() * h};
  auto att = ops().causalAttention(qkv[0], qkv[1], qkv[2], s_.dropout, is_training(), heads);
  auto y = att.transpose(1, 2).reshape({b, t, h * hd});
  return ops().dropout(proj_->forward(y), s_.dropout, is_training());
}

torch::Tensor GptBlock::forward(const torch::Tensor& h) {
  auto x = h + attention(ops().layerNorm(h, ln1_->weight, ln1_->bias));
  auto m = fc2_->forward(ops().gelu(fc1_->forward(ops().layerNorm(x, ln2_->weight, ln2_->bias))));
  return x + ops().dropout(m, s_.dropout, is_training());
}

LayerCost GptBlock::cost() const {
  const double d = static_cast<double>(s_.d_model), t = static_cast<double>(s_.context);
  LayerCost c;
  c.name = "block";
  // QKV + proj + MLP matmuls per token, plus the T x T attention scores and mix (the whole
  // layer: a tp group shares it, and the partitioner counts the group's speed).
  c.flops_fwd = t * (2 * d * 3 * d + 2 * d * d + 2 * 2 * d * s_.ffn_mult * d) + 2 * 2 * t * t * d;
  c.flops_bwd = 2 * c.flops_fwd;
  c.param_bytes = static_cast<int64_t>(4.0 * (4 * d * d + 2 * s_.ffn_mult * d * d));
  c.activation_bytes = static_cast<int64_t>(4.0 * t * d * (10 + 2 * s_.ffn_mult));
  c.output_bytes = static_cast<int64_t>(4.0 * t * d);
  return c;
}

GptHead::GptHead(const GptShape& s, collectives::Communicator* tp, Operators ops)
    : Layer(ops), s_(s) {
  ln_ = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({s.d_model})));
  out_ = register_module(
      "out", std::make_shared<ColumnParallelLinear>(s.d_model, s.vocab, false, false, tp, 1, ops));
  if (tp != nullptr) return;
  drawLikeLinearConstruction(out_->weight, out_->bias);
  initGpt2(out_->weight, out_->bias, 0.02);
}

torch::Tensor GptHead::forward(const torch::Tensor& h) {
  return out_->forward(ops().layerNorm(h, ln_->weight, ln_->bias));
}

ParameterInit GptHead::initOf(const std::string& name) const {
  if (name == "ln.weight") return ParameterInit::constant(1.0);
  if (name == "ln.bias") return ParameterInit::constant(0.0);
  return ParameterInit::normal(0.0, 0.02);  // out.weight
}

LayerCost GptHead::cost() const {
  LayerCost c;
  c.name = "head";
  c.flops_fwd = 2.0 * s_.context * s_.d_model * s_.vocab;
  c.flops_bwd = 2 * c.flops_fwd;
  c.param_bytes = static_cast<int64_t>(4.0 * s_.d_model * s_.vocab);
  c.activation_bytes = static_cast<int64_t>(4.0 * s_.context * s_.vocab);
  c.output_bytes = c.activation_bytes;
  return c;
}

void checkGptTensorParallel(const jobs::ModelSpec& spec, int64_t vocab, int tp) {
  auto need = [&](int64_t value, const std::string& field) {
    if (tp <= 1 || value % tp != 0) {
      throw UsageError(field + " = " + std::to_string(value) + " is not divisible by tp = " +
                       std::to_string(tp) + " (tensor parallelism splits it evenly)");
    }
  };
  if (spec.kind != "gpt") {
    throw UsageError("tensor parallelism (tp = " + std::to_string(tp) +
                     ") needs model.kind = \"gpt\", not '" + spec.kind + "'");
  }
  need(spec.heads, "model.heads");
  need(vocab, "the vocabulary size");
  need(spec.ffn_mult * spec.d_model, "model.ffn_mult * model.d_model");
}

std::shared_ptr<LayerModel> buildGpt(const jobs::ModelSpec& spec, int64_t vocab, uint64_t seed,
                                     collectives::Communicator* tp, Operators ops) {
  if (tp != nullptr && tp->size() > 1) checkGptTensorParallel(spec, vocab, tp->size());
  GptShape s;
  s.vocab = vocab;
  s.d_model = spec.d_model;
  s.layers = spec.layers;
  s.heads = spec.heads;
  s.context = spec.context;
  s.ffn_mult = spec.ffn_mult;
  s.dropout = spec.dropout;
  if (tp == nullptr) torch::manual_seed(seed);
  std::vector<std::shared_ptr<Layer>> layers;
  layers.push_back(std::make_shared<GptEmbedding>(s, tp, ops));
  for (int64_t i = 0; i < s.layers; ++i) layers.push_back(std::make_shared<GptBlock>(s, tp, ops));
  layers.push_back(std::make_shared<GptHead>(s, tp, ops));
  auto model = std::make_shared<LayerModel>("gpt", std::move(layers), ops);
  if (tp == nullptr || ops.reproducible()) return model;
  // Native: the shards hold no values yet: the unsharded model's, sliced.
  auto logical = buildGpt(spec, vocab, seed, nullptr, ops);
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& p : logical->named_parameters()) named.emplace_back(p.key(), p.value());
  loadLogicalParameters(*model, named, tp->rank(), tp->size());
  return model;
}

torch::Tensor gptLoss(const torch::Tensor& logits, const torch::Tensor& target,
                      collectives::Communicator* tp, const Operators& ops) {
  if (tp == nullptr || tp->size() == 1) return ops.crossEntropy(logits, target);
  return ops.mean(vocabParallelCrossEntropy(logits, target, *tp, ops));
}

}  // namespace mlcp::models
