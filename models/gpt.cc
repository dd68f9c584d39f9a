#include "models/gpt.h"

#include <cmath>

#include "jobs/job_spec.h"

namespace mlcp::models {
namespace {

// GPT-2 initialisation: N(0, 0.02) weights, zero biases; residual output projections scaled
// by 1/sqrt(2 L) so the residual stream's variance does not grow with depth.
void initLinear(torch::nn::Linear& l, double std) {
  torch::NoGradGuard g;
  l->weight.normal_(0.0, std);
  if (l->bias.defined()) l->bias.zero_();
}

}  // namespace

GptEmbedding::GptEmbedding(const GptShape& s) : s_(s) {
  tok_ = register_module("tok", torch::nn::Embedding(s.vocab, s.d_model));
  pos_ = register_module("pos", torch::nn::Embedding(s.context, s.d_model));
  torch::NoGradGuard g;
  tok_->weight.normal_(0.0, 0.02);
  pos_->weight.normal_(0.0, 0.02);
}

torch::Tensor GptEmbedding::forward(const torch::Tensor& tokens) {
  const int64_t t = tokens.size(1);
  auto h = tok_->forward(tokens) + pos_->forward(torch::arange(t, torch::kInt64)).unsqueeze(0);
  return torch::dropout(h, s_.dropout, is_training());
}

LayerCost GptEmbedding::cost() const {
  LayerCost c;
  c.name = "embedding";
  c.forward_flops = 1.0 * s_.context * s_.d_model;
  c.backward_flops = 2 * c.forward_flops;
  c.param_bytes = 4.0 * (s_.vocab + s_.context) * s_.d_model;
  c.activation_bytes = 4.0 * s_.context * s_.d_model;
  return c;
}

GptBlock::GptBlock(const GptShape& s) : s_(s) {
  const int64_t d = s.d_model;
  ln1_ = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  qkv_ = register_module("qkv", torch::nn::Linear(d, 3 * d));
  proj_ = register_module("proj", torch::nn::Linear(d, d));
  ln2_ = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  fc1_ = register_module("fc1", torch::nn::Linear(d, s.ffn_mult * d));
  fc2_ = register_module("fc2", torch::nn::Linear(s.ffn_mult * d, d));
  const double resid_std = 0.02 / std::sqrt(2.0 * static_cast<double>(s.layers));
  initLinear(qkv_, 0.02);
  initLinear(proj_, resid_std);
  initLinear(fc1_, 0.02);
  initLinear(fc2_, resid_std);
}

torch::Tensor GptBlock::attention(const torch::Tensor& x) {
  const int64_t b = x.size(0), t = x.size(1), d = s_.d_model, h = s_.heads, hd = d / h;
  auto qkv = qkv_->forward(x).view({b, t, 3, h, hd}).permute({2, 0, 3, 1, 4});  // 3,B,H,T,hd
  auto q = qkv[0], k = qkv[1], v = qkv[2];
  auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd));
  auto mask = torch::ones({t, t}, torch::kBool).triu(1);
  att = torch::softmax(att.masked_fill(mask, -std::numeric_limits<float>::infinity()), -1);
  att = torch::dropout(att, s_.dropout, is_training());
  auto y = torch::matmul(att, v).transpose(1, 2).reshape({b, t, d});
  return torch::dropout(proj_->forward(y), s_.dropout, is_training());
}

torch::Tensor GptBlock::forward(const torch::Tensor& h) {
  auto x = h + attention(ln1_->forward(h));
  auto m = fc2_->forward(torch::gelu(fc1_->forward(ln2_->forward(x))));
  return x + torch::dropout(m, s_.dropout, is_training());
}

LayerCost GptBlock::cost() const {
  const double d = static_cast<double>(s_.d_model), t = static_cast<double>(s_.context);
  LayerCost c;
  c.name = "block";
  // QKV + proj + MLP matmuls per token, plus the T x T attention scores and mix.
  c.forward_flops = t * (2 * d * 3 * d + 2 * d * d + 2 * 2 * d * s_.ffn_mult * d) + 2 * 2 * t * t * d;
  c.backward_flops = 2 * c.forward_flops;
  c.param_bytes = 4.0 * (4 * d * d + 2 * s_.ffn_mult * d * d);
  c.activation_bytes = 4.0 * t * d * (10 + 2 * s_.ffn_mult);
  return c;
}

GptHead::GptHead(const GptShape& s) : s_(s) {
  ln_ = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({s.d_model})));
  out_ = register_module("out",
                         torch::nn::Linear(torch::nn::LinearOptions(s.d_model, s.vocab).bias(false)));
  initLinear(out_, 0.02);
}

torch::Tensor GptHead::forward(const torch::Tensor& h) { return out_->forward(ln_->forward(h)); }

LayerCost GptHead::cost() const {
  LayerCost c;
  c.name = "head";
  c.forward_flops = 2.0 * s_.context * s_.d_model * s_.vocab;
  c.backward_flops = 2 * c.forward_flops;
  c.param_bytes = 4.0 * s_.d_model * s_.vocab;
  c.activation_bytes = 4.0 * s_.context * s_.vocab;
  return c;
}

std::shared_ptr<LayerModel> buildGpt(const jobs::ModelSpec& spec, int64_t vocab) {
  GptShape s;
  s.vocab = vocab;
  s.d_model = spec.d_model;
  s.layers = spec.layers;
  s.heads = spec.heads;
  s.context = spec.context;
  s.ffn_mult = spec.ffn_mult;
  s.dropout = spec.dropout;
  std::vector<std::shared_ptr<Layer>> layers;
  layers.push_back(std::make_shared<GptEmbedding>(s));
  for (int64_t i = 0; i < s.layers; ++i) layers.push_back(std::make_shared<GptBlock>(s));
  layers.push_back(std::make_shared<GptHead>(s));
  return std::make_shared<LayerModel>("gpt", std::move(layers));
}

}  // namespace mlcp::models
