#include "models/operators.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/version.h>

#include <cmath>
#include <limits>
#include <mutex>

#include "base/error.h"
#include "ops/grad_clip.h"
#include "ops/math_functions.h"
#include "ops/reduction.h"
#include "ops/softmax.h"
#include "ops/torch_ops.h"

namespace mlcp::models {
namespace {

// The version of the reproducible operators' arithmetic (see opSetVersion).
constexpr int kReproducibleOpsVersion = 1;

// One 64-bit seed from the default CPU generator (mt19937: integer arithmetic, the same on
// every CPU), under the generator's lock as LibTorch's own samplers take it.
uint64_t drawSeed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

// ATen's attention, as mlcp's GPT computed it before its own operators: the native program.
torch::Tensor nativeAttention(const torch::Tensor& q, const torch::Tensor& k,
                              const torch::Tensor& v, double p, bool training,
                              const AttentionHeads& heads) {
  const int64_t t = q.size(2), hd = q.size(3);
  auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd));
  auto mask = torch::ones({t, t}, torch::kBool).triu(1);
  att = torch::softmax(att.masked_fill(mask, -std::numeric_limits<float>::infinity()), -1);
  if (!training || p == 0 || att.numel() == 0) return torch::matmul(att, v);
  if (heads.heads == 0) return torch::matmul(torch::dropout(att, p, training), v);
  // A tensor-parallel rank's heads: draw the unsharded tensor's mask (the same draws, in the same
  // order, as torch::dropout: empty_like(input).bernoulli_(1 - p) / (1 - p)) and keep its slice.
  auto noise = torch::empty({q.size(0), heads.total_heads, t, t}, att.options()).bernoulli_(1 - p);
  noise.div_(1 - p);
  return torch::matmul(att * noise.narrow(1, heads.first_head, heads.heads), v);
}

// The mean as one add chain in ascending index order from +0, then one division; its gradient
// is g / n in every element (as LibTorch's mean backward).
struct MeanFunction : torch::autograd::Function<MeanFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x) {
    const float* v = x.data_ptr<float>();
    float total = 0.0f;
    for (int64_t i = 0; i < x.numel(); ++i) total = total + v[i];
    ctx->saved_data["sizes"] = x.sizes().vec();
    return torch::tensor(total / static_cast<float>(x.numel()), x.options());
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list g) {
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    int64_t n = 1;
    for (auto s : sizes) n *= s;
    return {(g[0] / static_cast<float>(n)).expand(sizes).contiguous()};
  }
};

torch::Tensor contiguousFloat(const torch::Tensor& x) { return x.contiguous(); }

}  // namespace

const char* opSetName(OpSet set) { return set == OpSet::kReproducible ? "reproducible" : "native"; }

OpSet parseOpSet(const std::string& name, const std::string& origin) {
  if (name == "reproducible") return OpSet::kReproducible;
  if (name == "native") return OpSet::kNative;
  throw UsageError(origin + " = '" + name + "' is not one of reproducible, native");
}

std::string opSetVersion(OpSet set) {
  if (set == OpSet::kReproducible) {
    return "reproducible (mlcp ops " + std::to_string(kReproducibleOpsVersion) + ")";
  }
  return std::string("native (LibTorch ") + TORCH_VERSION + ")";
}

torch::Tensor Operators::linear(const torch::Tensor& x, const torch::Tensor& w,
                                const torch::Tensor& b) const {
  if (!reproducible()) return torch::nn::functional::linear(x, w, b);
  return ops::nn::linear(contiguousFloat(x), w, b);
}

torch::Tensor Operators::biasAdd(const torch::Tensor& x, const torch::Tensor& b) const {
  if (!reproducible()) return x + b;
  return ops::nn::biasAdd(contiguousFloat(x), b);
}

torch::Tensor Operators::conv2d3x3(const torch::Tensor& x, const torch::Tensor& w,
                                   const torch::Tensor& b) const {
  if (!reproducible()) {
    return torch::nn::functional::conv2d(
        x, w, torch::nn::functional::Conv2dFuncOptions().bias(b).padding(1));
  }
  return ops::nn::conv2d3x3(contiguousFloat(x), w, b);
}

torch::Tensor Operators::maxPool2x2(const torch::Tensor& x) const {
  if (!reproducible()) return torch::max_pool2d(x, 2);
  return ops::nn::maxPool2x2(contiguousFloat(x));
}

torch::Tensor Operators::relu(const torch::Tensor& x) const {
  return reproducible() ? ops::nn::relu(contiguousFloat(x)) : torch::relu(x);
}

torch::Tensor Operators::gelu(const torch::Tensor& x) const {
  return reproducible() ? ops::nn::gelu(contiguousFloat(x)) : torch::gelu(x);
}

torch::Tensor Operators::layerNorm(const torch::Tensor& x, const torch::Tensor& weight,
                                   const torch::Tensor& bias, double eps) const {
  if (!reproducible()) return torch::layer_norm(x, {x.size(-1)}, weight, bias, eps);
  return ops::nn::layerNorm(contiguousFloat(x), weight, bias, eps);
}

torch::Tensor Operators::embedding(const torch::Tensor& tokens, const torch::Tensor& table) const {
  if (!reproducible()) return torch::embedding(table, tokens);
  return ops::nn::embedding(tokens.contiguous(), table);
}

torch::Tensor Operators::dropout(const torch::Tensor& x, double p, bool training) const {
  if (!reproducible()) return torch::dropout(x, p, training);
  if (!training || p == 0 || x.numel() == 0) return x;
  return ops::nn::dropout(contiguousFloat(x), p, drawSeed());
}

torch::Tensor Operators::causalAttention(const torch::Tensor& q, const torch::Tensor& k,
                                         const torch::Tensor& v, double p, bool training,
                                         const AttentionHeads& heads) const {
  if (!reproducible()) return nativeAttention(q, k, v, p, training, heads);
  const int64_t b = q.size(0), h = q.size(1), t = q.size(2), hd = q.size(3);
  const bool drop = training && p > 0 && q.numel() > 0;
  const uint64_t seed = drop ? drawSeed() : 0;
  auto flat = [&](const torch::Tensor& x) { return x.contiguous().view({b * h, t, hd}); };
  const ops::HeadLayout layout{heads.heads, heads.total_heads, heads.first_head};
  return ops::nn::causalAttention(flat(q), flat(k), flat(v), drop ? p : 0.0, seed, layout)
      .view({b, h, t, hd});
}

torch::Tensor Operators::crossEntropy(const torch::Tensor& logits,
                                      const torch::Tensor& target) const {
  auto flat = logits.reshape({-1, logits.size(-1)});
  if (!reproducible()) return torch::nn::functional::cross_entropy(flat, target.reshape({-1}));
  return ops::nn::crossEntropy(flat.contiguous(), target.reshape({-1}).contiguous());
}

torch::Tensor Operators::exp(const torch::Tensor& x) const {
  if (!reproducible()) return x.exp();
  auto in = x.contiguous();
  auto out = torch::empty_like(in);
  ops::exp(in.data_ptr<float>(), out.data_ptr<float>(), in.numel());
  return out;
}

torch::Tensor Operators::log(const torch::Tensor& x) const {
  if (!reproducible()) return x.log();
  auto in = x.contiguous();
  auto out = torch::empty_like(in);
  ops::log(in.data_ptr<float>(), out.data_ptr<float>(), in.numel());
  return out;
}

torch::Tensor Operators::rowSums(const torch::Tensor& x) const {
  if (!reproducible()) return x.sum(-1);
  auto in = x.contiguous();
  const int64_t rows = in.size(0), cols = in.size(1);
  auto out = torch::empty({rows}, in.options());
  const float* src = in.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  for (int64_t r = 0; r < rows; ++r) dst[r] = ops::sum(src + r * cols, cols);
  return out;
}

torch::Tensor Operators::mean(const torch::Tensor& x) const {
  if (!reproducible()) return x.mean();
  return MeanFunction::apply(x.contiguous());
}

double Operators::crossEntropySum(const torch::Tensor& logits, const torch::Tensor& target) const {
  if (!reproducible()) {
    return torch::nn::functional::cross_entropy(
               logits, target,
               torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
        .item<double>();
  }
  auto z = logits.contiguous();
  auto t = target.contiguous();
  std::vector<float> rows(static_cast<size_t>(z.size(0)));
  ops::crossEntropy(z.data_ptr<float>(), t.data_ptr<int64_t>(), z.size(0), z.size(1), rows.data());
  double total = 0;
  for (float l : rows) total += l;
  return total;
}

float Operators::l2Norm(const torch::Tensor& x) const {
  if (!reproducible()) return x.norm(2).item<float>();
  auto in = x.detach().contiguous();
  return ops::l2Norm(in.data_ptr<float>(), in.numel());
}

float Operators::combineNorms(const std::vector<float>& norms) const {
  if (norms.empty()) return 0.0f;
  if (!reproducible()) {
    if (norms.size() == 1) return norms[0];
    std::vector<torch::Tensor> each;
    for (float n : norms) each.push_back(torch::tensor(n).reshape({}));
    return torch::stack(each).norm(2).item<float>();
  }
  return ops::combineL2Norms(norms.data(), static_cast<int64_t>(norms.size()));
}

}  // namespace mlcp::models
