// The LibTorch wrappers (ops/torch_ops.h): forward and backward against LibTorch's own
// operators on the models' kinds of shapes, within stated tolerances (LibTorch sums in other
// orders and uses other exp/erf; the difference is rounding):
//   max |ours - torch| <= 2e-5 * (1 + max |torch|) for forward values and gradients,
//   AdamW/SGD parameters after 5 steps: <= 1e-6 relative, and clipping: the same coefficient to
//   1e-6.
// Also: a small transformer step built from the wrappers gives the same bits on every path and
// thread count, and bad tensors are rejected with InvalidArgument.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "base/error.h"
#include "ops/isa.h"
#include "ops/parallel.h"
#include "ops/torch_ops.h"
#include "tests/ops/ops_test_util.h"

namespace mlcp::ops {
namespace {

constexpr double kTolerance = 2e-5;

void expectClose(const torch::Tensor& ours, const torch::Tensor& theirs, const std::string& what,
                 double tol = kTolerance) {
  ASSERT_TRUE(ours.defined()) << what;
  ASSERT_TRUE(theirs.defined()) << what;
  ASSERT_EQ(ours.sizes(), theirs.sizes()) << what;
  const double scale = 1 + theirs.abs().max().item<double>();
  const double diff = (ours - theirs).abs().max().item<double>();
  EXPECT_LE(diff, tol * scale) << what << ": max |ours - torch| = " << diff << " (scale " << scale
                               << ")";
}

// Leaf copies of `t` for the two sides.
std::pair<torch::Tensor, torch::Tensor> twin(const torch::Tensor& t) {
  return {t.detach().clone().requires_grad_(true), t.detach().clone().requires_grad_(true)};
}

TEST(OpsTorch, LinearAndBmm) {
  torch::manual_seed(1);
  for (auto shape :
       std::vector<std::vector<int64_t>>{{32, 784, 256}, {7, 13, 3}, {512, 128, 384}}) {
    auto [x1, x2] = twin(torch::randn({shape[0], shape[1]}));
    auto [w1, w2] = twin(torch::randn({shape[2], shape[1]}) * 0.05);
    auto [b1, b2] = twin(torch::randn({shape[2]}));
    auto y1 = nn::linear(x1, w1, b1);
    auto y2 = torch::nn::functional::linear(x2, w2, b2);
    expectClose(y1, y2, "linear forward");
    auto g = torch::randn(y2.sizes());
    y1.backward(g);
    y2.backward(g);
    expectClose(x1.grad(), x2.grad(), "linear dx");
    expectClose(w1.grad(), w2.grad(), "linear dw");
    expectClose(b1.grad(), b2.grad(), "linear db");
  }
  auto [x1, x2] = twin(torch::randn({2, 3, 5, 8}));  // leading dimensions flattened
  auto [w1, w2] = twin(torch::randn({6, 8}));
  expectClose(nn::linear(x1, w1), torch::nn::functional::linear(x2, w2), "linear, no bias, 4-D");

  auto [a1, a2] = twin(torch::randn({32, 64, 32}));
  auto [c1, c2] = twin(torch::randn({32, 32, 64}));
  auto z1 = nn::bmm(a1, c1);
  auto z2 = torch::bmm(a2, c2);
  expectClose(z1, z2, "bmm forward");
  auto g = torch::randn(z2.sizes());
  z1.backward(g);
  z2.backward(g);
  expectClose(a1.grad(), a2.grad(), "bmm da");
  expectClose(c1.grad(), c2.grad(), "bmm db");
}

TEST(OpsTorch, ConvReluPoolLikeTheCnn) {
  torch::manual_seed(2);
  for (auto s : std::vector<std::vector<int64_t>>{{4, 1, 28, 28, 16}, {4, 16, 14, 14, 32}}) {
    auto [x1, x2] = twin(torch::randn({s[0], s[1], s[2], s[3]}));
    auto [w1, w2] = twin(torch::randn({s[4], s[1], 3, 3}) * 0.2);
    auto [b1, b2] = twin(torch::randn({s[4]}));
    auto y1 = nn::maxPool2x2(nn::relu(nn::conv2d3x3(x1, w1, b1)));
    auto y2 = torch::max_pool2d(torch::relu(torch::conv2d(x2, w2, b2, 1, 1)), 2);
    expectClose(y1, y2, "conv block forward");
    auto g = torch::randn(y2.sizes());
    y1.backward(g);
    y2.backward(g);
    expectClose(x1.grad(), x2.grad(), "conv block dx");
    expectClose(w1.grad(), w2.grad(), "conv block dw");
    expectClose(b1.grad(), b2.grad(), "conv block db");
  }
}

TEST(OpsTorch, ActivationsSoftmaxCrossEntropy) {
  torch::manual_seed(3);
  auto x = torch::randn({64, 257}) * 3;
  using Pair = std::pair<torch::Tensor (*)(const torch::Tensor&),
                         std::function<torch::Tensor(const torch::Tensor&)>>;
  const std::vector<std::pair<std::string, Pair>> cases = {
      {"gelu", {&nn::gelu, [](const torch::Tensor& t) { return torch::gelu(t); }}},
      {"tanh", {&nn::tanh, [](const torch::Tensor& t) { return torch::tanh(t); }}},
      {"relu", {&nn::relu, [](const torch::Tensor& t) { return torch::relu(t); }}},
      {"softmax", {&nn::softmax, [](const torch::Tensor& t) { return torch::softmax(t, -1); }}},
      {"logSoftmax",
       {&nn::logSoftmax, [](const torch::Tensor& t) { return torch::log_softmax(t, -1); }}},
  };
  for (const auto& [name, fns] : cases) {
    auto [x1, x2] = twin(x);
    auto y1 = fns.first(x1);
    auto y2 = fns.second(x2);
    expectClose(y1, y2, name + " forward");
    auto g = torch::randn(y2.sizes());
    y1.backward(g);
    y2.backward(g);
    expectClose(x1.grad(), x2.grad(), name + " backward");
  }
  auto [l1, l2] = twin(torch::randn({8, 64, 256}));  // GPT logits [B, T, V]
  auto targets = torch::randint(0, 256, {8, 64}, torch::kInt64);
  auto loss1 = nn::crossEntropy(l1, targets);
  auto loss2 = torch::nn::functional::cross_entropy(l2.reshape({-1, 256}), targets.reshape({-1}));
  expectClose(loss1, loss2, "crossEntropy");
  (loss1 * 0.25).backward();
  (loss2 * 0.25).backward();
  expectClose(l1.grad(), l2.grad(), "crossEntropy backward");
}

TEST(OpsTorch, LayerNormEmbeddingAttentionLikeTheGpt) {
  torch::manual_seed(4);
  auto [x1, x2] = twin(torch::randn({8, 64, 128}) * 2 + 0.5);
  auto [w1, w2] = twin(torch::randn({128}));
  auto [b1, b2] = twin(torch::randn({128}));
  auto y1 = nn::layerNorm(x1, w1, b1);
  auto y2 = torch::layer_norm(x2, {128}, w2, b2, 1e-5);
  expectClose(y1, y2, "layerNorm forward");
  auto g = torch::randn(y2.sizes());
  y1.backward(g);
  y2.backward(g);
  expectClose(x1.grad(), x2.grad(), "layerNorm dx");
  expectClose(w1.grad(), w2.grad(), "layerNorm dw");
  expectClose(b1.grad(), b2.grad(), "layerNorm db");

  auto [t1, t2] = twin(torch::randn({256, 128}));
  auto tokens = torch::randint(0, 256, {8, 64}, torch::kInt64);
  auto e1 = nn::embedding(tokens, t1);
  auto e2 = torch::embedding(t2, tokens);
  expectClose(e1, e2, "embedding forward");
  auto ge = torch::randn(e2.sizes());
  e1.backward(ge);
  e2.backward(ge);
  expectClose(t1.grad(), t2.grad(), "embedding backward");

  // Attention as models/gpt.cc writes it, on [B*H, T, hd].
  const int64_t bh = 32, t = 64, hd = 32;
  auto [q1, q2] = twin(torch::randn({bh, t, hd}));
  auto [k1, k2] = twin(torch::randn({bh, t, hd}));
  auto [v1, v2] = twin(torch::randn({bh, t, hd}));
  auto a1 = nn::causalAttention(q1, k1, v1);
  auto att = torch::matmul(q2, k2.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd));
  auto mask = torch::ones({t, t}, torch::kBool).triu(1);
  att = torch::softmax(att.masked_fill(mask, -std::numeric_limits<float>::infinity()), -1);
  auto a2 = torch::matmul(att, v2);
  expectClose(a1, a2, "attention forward");
  auto ga = torch::randn(a2.sizes());
  a1.backward(ga);
  a2.backward(ga);
  expectClose(q1.grad(), q2.grad(), "attention dq");
  expectClose(k1.grad(), k2.grad(), "attention dk");
  expectClose(v1.grad(), v2.grad(), "attention dv");
}

TEST(OpsTorch, DropoutIsSeededAndItsGradientIsTheMask) {
  auto x = torch::randn({1000, 33}).requires_grad_(true);
  auto y = nn::dropout(x, 0.25, 99);
  auto y_again = nn::dropout(x.detach(), 0.25, 99);
  EXPECT_TRUE(torch::equal(y.detach(), y_again));
  EXPECT_FALSE(torch::equal(y.detach(), nn::dropout(x.detach(), 0.25, 100)));
  const double kept = (y.detach() != 0).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(kept, 0.75, 0.01);
  y.sum().backward();
  auto mask = (y.detach() / x.detach());
  EXPECT_TRUE(torch::allclose(x.grad(), mask.nan_to_num(0.0), 1e-6, 1e-6));
  EXPECT_TRUE(torch::equal(nn::dropout(x, 0.25, 99, /*training=*/false), x));
}

TEST(OpsTorch, ClipGradNormMatchesLibTorch) {
  torch::manual_seed(5);
  std::vector<torch::Tensor> p1, p2;
  for (int64_t n : {1000, 17, 300000}) {
    auto [a, b] = twin(torch::randn({n}));
    auto g = torch::randn({n}) * 0.3;
    a.mutable_grad() = g.clone();
    b.mutable_grad() = g.clone();
    p1.push_back(a);
    p2.push_back(b);
  }
  double exact = 0;  // in double
  for (const auto& p : p1) exact += p.grad().to(torch::kDouble).pow(2).sum().item<double>();
  exact = std::sqrt(exact);
  const double n1 = nn::clipGradNorm(p1, 1.0);
  const double n2 = torch::nn::utils::clip_grad_norm_(p2, 1.0);
  std::printf("[ ops ] global norm: ours %.9g, LibTorch %.9g, double %.9g\n", n1, n2, exact);
  EXPECT_NEAR(n1, exact, 1e-6 * exact);
  EXPECT_NEAR(n1, n2, 2e-6 * n2);
  for (size_t i = 0; i < p1.size(); ++i) expectClose(p1[i].grad(), p2[i].grad(), "clipped", 2e-6);
}

TEST(OpsTorch, AdamWAndSgdMatchLibTorch) {
  torch::manual_seed(6);
  auto w0 = torch::randn({4099});
  std::vector<torch::Tensor> grads;
  for (int s = 0; s < 5; ++s) grads.push_back(torch::randn({4099}) * 0.1);

  auto run_adamw = [&](double wd) {
    auto ours = w0.clone(), theirs = w0.clone().requires_grad_(true);
    AdamWOptions o;
    o.lr = 3e-3;
    o.weight_decay = wd;
    torch::optim::AdamW opt({theirs}, torch::optim::AdamWOptions(3e-3).weight_decay(wd));
    nn::AdamWState state;
    for (const auto& g : grads) {
      nn::adamwStep(ours, g, state, o);
      theirs.mutable_grad() = g.clone();
      opt.step();
    }
    const double same = (ours == theirs.detach()).to(torch::kDouble).mean().item<double>();
    auto differ = (ours != theirs.detach()).nonzero().flatten();
    std::printf("[ ops ] AdamW (wd %g) vs torch::optim::AdamW, 5 steps: %.1f%% bitwise equal", wd,
                100 * same);
    for (int64_t i = 0; i < std::min<int64_t>(differ.numel(), 12); ++i) {
      std::printf("%s%ld", i == 0 ? "; differing elements: " : " ",
                  static_cast<long>(differ[i].item<int64_t>()));
    }
    std::printf("\n");
    expectClose(ours, theirs.detach(), "adamw", 1e-6);
  };
  run_adamw(0.01);
  run_adamw(0.0);

  for (bool nesterov : {false, true}) {
    auto ours = w0.clone(), theirs = w0.clone().requires_grad_(true);
    SgdOptions o;
    o.lr = 0.05;
    o.momentum = 0.9;
    o.weight_decay = 1e-4;
    o.nesterov = nesterov;
    torch::optim::SGD opt(
        {theirs},
        torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(1e-4).nesterov(nesterov));
    nn::SgdState state;
    for (const auto& g : grads) {
      nn::sgdStep(ours, g, state, o);
      theirs.mutable_grad() = g.clone();
      opt.step();
    }
    const double same = (ours == theirs.detach()).to(torch::kDouble).mean().item<double>();
    std::printf("[ ops ] SGD (nesterov %d) vs torch::optim::SGD, 5 steps: %.1f%% bitwise equal\n",
                nesterov, 100 * same);
    expectClose(ours, theirs.detach(), "sgd", 1e-6);
  }
}

TEST(OpsTorch, RejectsTensorsTheKernelsCannotRead) {
  auto w = torch::randn({4, 3});
  EXPECT_THROW(nn::linear(torch::randn({3, 5}).t(), w), InvalidArgument);  // not contiguous
  EXPECT_THROW(nn::linear(torch::randn({5, 3}, torch::kDouble), w), InvalidArgument);
  EXPECT_THROW(nn::linear(torch::randn({5, 2}), w), InvalidArgument);  // shapes
  EXPECT_THROW(nn::embedding(torch::zeros({3}, torch::kInt32), w), InvalidArgument);
  EXPECT_THROW(nn::crossEntropy(torch::randn({2, 4}), torch::tensor({0, 4}, torch::kInt64)),
               InvalidArgument);
}

// A transformer-block step through the wrappers, forward and backward: the loss and every
// gradient have the same bits on every path and with 1, 2 or 3 threads.
TEST(OpsTorch, TransformerStepSameBitsOnEveryPath) {
  torch::manual_seed(7);
  const int64_t b = 2, t = 16, d = 32, h = 2, vocab = 50;
  auto tokens = torch::randint(0, vocab, {b, t}, torch::kInt64);
  auto targets = torch::randint(0, vocab, {b, t}, torch::kInt64);
  const std::vector<torch::Tensor> init = {torch::randn({vocab, d}) * 0.1,
                                           torch::ones({d}),
                                           torch::zeros({d}),
                                           torch::randn({3 * d, d}) * 0.1,
                                           torch::zeros({3 * d}),
                                           torch::randn({4 * d, d}) * 0.1,
                                           torch::randn({4 * d}) * 0.1,
                                           torch::randn({vocab, 4 * d}) * 0.1};
  test::expectSameBitsOnEveryPath("transformer step", [&] {
    std::vector<torch::Tensor> p;
    for (const auto& x : init) p.push_back(x.clone().requires_grad_(true));
    auto x = nn::embedding(tokens, p[0]);
    auto n = nn::layerNorm(x, p[1], p[2]);
    auto qkv = nn::linear(n, p[3], p[4]).view({b, t, 3, h, d / h}).permute({2, 0, 3, 1, 4});
    auto q = qkv[0].reshape({b * h, t, d / h}).contiguous();
    auto k = qkv[1].reshape({b * h, t, d / h}).contiguous();
    auto v = qkv[2].reshape({b * h, t, d / h}).contiguous();
    auto a = nn::causalAttention(q, k, v, 0.1, 42).view({b, h, t, d / h}).transpose(1, 2);
    auto y = x + nn::dropout(a.reshape({b, t, d}).contiguous(), 0.1, 43);
    auto m = nn::gelu(nn::linear(y, p[5], p[6]));
    auto loss = nn::crossEntropy(nn::linear(m, p[7]), targets);
    loss.backward();
    std::vector<float> out = {loss.item<float>()};
    for (const auto& x : p) {
      auto g = x.grad().contiguous();
      out.insert(out.end(), g.data_ptr<float>(), g.data_ptr<float>() + g.numel());
    }
    return out;
  });
}

}  // namespace
}  // namespace mlcp::ops
