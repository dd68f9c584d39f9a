// The operator sets behind every model (models/operators.h) and the reproducible initial
// parameters (models/parameter_init.h): the reproducible set agrees with LibTorch's (native) to
// rounding, forward and backward; dropout and attention masks follow the layer's generator and
// a tensor-parallel rank's heads; initial parameters are a function of (seed, name) alone.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "base/error.h"
#include "jobs/job_spec.h"
#include "models/layer_model.h"
#include "models/operators.h"
#include "models/parameter_init.h"

namespace mlcp::models {
namespace {

const Operators kRepro(OpSet::kReproducible), kNative(OpSet::kNative);

// Runs `fn` on fresh copies of `inputs` (requiring gradients where floating) under both sets;
// expects the outputs and every input's gradient (of the output's weighted sum) to agree.
void expectSetsAgree(
    const std::string& what, const std::vector<torch::Tensor>& inputs,
    const std::function<torch::Tensor(const Operators&, const std::vector<torch::Tensor>&)>& fn,
    double rtol = 1e-4, double atol = 1e-5) {
  std::vector<torch::Tensor> outs, grads[2];
  int k = 0;
  for (const Operators* ops : {&kRepro, &kNative}) {
    std::vector<torch::Tensor> in;
    for (const auto& t : inputs) {
      auto c = t.clone();
      if (c.is_floating_point()) c.requires_grad_(true);
      in.push_back(c);
    }
    auto y = fn(*ops, in);
    torch::manual_seed(99);
    const auto weights = torch::randn(y.sizes());
    if (y.requires_grad()) (y * weights).sum().backward();
    outs.push_back(y.detach());
    for (const auto& t : in) grads[k].push_back(t.is_floating_point() ? t.grad() : torch::Tensor());
    ++k;
  }
  EXPECT_TRUE(torch::allclose(outs[0], outs[1], rtol, atol))
      << what << ": outputs differ by " << (outs[0] - outs[1]).abs().max().item<float>();
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!grads[0][i].defined() && !grads[1][i].defined()) continue;
    ASSERT_TRUE(grads[0][i].defined() && grads[1][i].defined()) << what << " input " << i;
    EXPECT_TRUE(torch::allclose(grads[0][i], grads[1][i], rtol, atol))
        << what << ": gradient of input " << i << " differs by "
        << (grads[0][i] - grads[1][i]).abs().max().item<float>();
  }
}

TEST(Operators, ReproducibleAgreesWithNativeForwardAndBackward) {
  torch::manual_seed(3);
  const auto x = torch::randn({6, 10}), w = torch::randn({7, 10}), b = torch::randn({7});
  expectSetsAgree("linear", {x, w, b},
                  [](const Operators& o, auto in) { return o.linear(in[0], in[1], in[2]); });
  expectSetsAgree("linear without bias", {x, w},
                  [](const Operators& o, auto in) { return o.linear(in[0], in[1]); });
  expectSetsAgree("biasAdd", {torch::randn({4, 3, 7}), b},
                  [](const Operators& o, auto in) { return o.biasAdd(in[0], in[1]); });
  const auto img = torch::randn({2, 3, 7, 7}), cw = torch::randn({4, 3, 3, 3}),
             cb = torch::randn({4});
  expectSetsAgree("conv2d3x3 + relu + maxPool2x2", {img, cw, cb}, [](const Operators& o, auto in) {
    return o.maxPool2x2(o.relu(o.conv2d3x3(in[0], in[1], in[2])));
  });
  expectSetsAgree("gelu", {x}, [](const Operators& o, auto in) { return o.gelu(in[0]); });
  expectSetsAgree("layerNorm", {torch::randn({5, 4, 16}), torch::randn({16}), torch::randn({16})},
                  [](const Operators& o, auto in) { return o.layerNorm(in[0], in[1], in[2]); });
  const auto tokens = torch::randint(0, 11, {3, 5}, torch::kInt64);
  expectSetsAgree("embedding", {tokens, torch::randn({11, 6})},
                  [](const Operators& o, auto in) { return o.embedding(in[0], in[1]); });
  const auto q = torch::randn({2, 3, 9, 4}), k = torch::randn({2, 3, 9, 4}),
             v = torch::randn({2, 3, 9, 4});
  expectSetsAgree("causalAttention", {q, k, v}, [](const Operators& o, auto in) {
    return o.causalAttention(in[0], in[1], in[2], 0.0, true);
  });
  const auto logits = torch::randn({4, 5, 13});
  const auto target = torch::randint(0, 13, {4, 5}, torch::kInt64);
  expectSetsAgree("crossEntropy", {logits, target},
                  [](const Operators& o, auto in) { return o.crossEntropy(in[0], in[1]); });
  expectSetsAgree("mean", {x}, [](const Operators& o, auto in) { return o.mean(in[0]); });
  // Without autograd.
  EXPECT_TRUE(torch::allclose(kRepro.exp(x), kNative.exp(x), 1e-6, 0));
  EXPECT_TRUE(torch::allclose(kRepro.log(x.abs()), kNative.log(x.abs()), 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(kRepro.rowSums(x), kNative.rowSums(x), 1e-5, 1e-6));
  const auto flat = logits.reshape({-1, 13}), t = target.reshape({-1});
  EXPECT_NEAR(kRepro.crossEntropySum(flat, t), kNative.crossEntropySum(flat, t), 1e-3);
  EXPECT_NEAR(kRepro.l2Norm(x), kNative.l2Norm(x), 1e-5);
  EXPECT_NEAR(kRepro.combineNorms({3, 4, 12}), 13.0f, 1e-5);
  EXPECT_NEAR(kNative.combineNorms({3, 4, 12}), 13.0f, 1e-5);
  EXPECT_EQ(kRepro.combineNorms({}), 0.0f);
}

TEST(Operators, DropoutFollowsTheLayersGenerator) {
  const auto x = torch::ones({64, 64});
  for (const Operators* ops : {&kRepro, &kNative}) {
    torch::manual_seed(5);
    const auto a = ops->dropout(x, 0.25, true);
    const auto a2 = ops->dropout(x, 0.25, true);  // the next call draws a new mask
    torch::manual_seed(5);
    const auto b = ops->dropout(x, 0.25, true);
    EXPECT_TRUE(torch::equal(a, b)) << opSetName(ops->set());
    EXPECT_FALSE(torch::equal(a, a2)) << opSetName(ops->set());
    const double kept = (a != 0).sum().item<double>() / static_cast<double>(x.numel());
    EXPECT_NEAR(kept, 0.75, 0.03) << opSetName(ops->set());
    EXPECT_TRUE(torch::allclose(a.masked_select(a != 0), torch::full({1}, 1 / 0.75f)));
    EXPECT_TRUE(torch::equal(ops->dropout(x, 0.25, false), x));
    EXPECT_TRUE(torch::equal(ops->dropout(x, 0.0, true), x));
  }
}

// A tensor-parallel rank holding heads [first, first + h) of H applies exactly the unsharded
// model's dropout to them, with either set.
TEST(Operators, AttentionDropoutOfARanksHeadsIsTheUnshardedModels) {
  torch::manual_seed(8);
  const int64_t B = 2, H = 4, T = 7, hd = 3;
  const auto q = torch::randn({B, H, T, hd}), k = torch::randn({B, H, T, hd}),
             v = torch::randn({B, H, T, hd});
  for (const Operators* ops : {&kRepro, &kNative}) {
    torch::manual_seed(21);
    const auto full = ops->causalAttention(q, k, v, 0.3, true);
    for (int64_t first : {0, 2}) {
      torch::manual_seed(21);
      const auto part =
          ops->causalAttention(q.narrow(1, first, 2), k.narrow(1, first, 2), v.narrow(1, first, 2),
                               0.3, true, AttentionHeads{2, H, first});
      EXPECT_TRUE(torch::equal(part, full.narrow(1, first, 2)))
          << opSetName(ops->set()) << " heads from " << first;
    }
  }
}

TEST(Operators, SetNamesAndVersions) {
  EXPECT_EQ(parseOpSet("reproducible", "runtime.ops"), OpSet::kReproducible);
  EXPECT_EQ(parseOpSet("native", "runtime.ops"), OpSet::kNative);
  try {
    parseOpSet("fast", "runtime.ops");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "runtime.ops = 'fast' is not one of reproducible, native");
  }
  EXPECT_EQ(opSetVersion(OpSet::kReproducible).rfind("reproducible (mlcp ops ", 0), 0u);
  EXPECT_EQ(opSetVersion(OpSet::kNative).rfind("native (LibTorch ", 0), 0u);
}

jobs::ModelSpec mlp(std::vector<int64_t> hidden) {
  jobs::ModelSpec s;
  s.kind = "mlp";
  s.hidden = std::move(hidden);
  return s;
}

TEST(ParameterInit, ParametersAreAFunctionOfSeedAndNameAlone) {
  const auto a = buildModel(mlp({32, 16}), 10, 5);
  // A value depends on (seed, name, shape, rule) only: recomputed from the documented stream.
  const auto w0 = a->named_parameters()["layers.0.linear.weight"];
  const auto expected =
      drawParameter(5, "layers.0.linear.weight", {32, 784},
                    ParameterInit::uniform(-1 / std::sqrt(784.0), 1 / std::sqrt(784.0)));
  EXPECT_TRUE(torch::equal(w0, expected));
  // Another model around the same first layer: its parameters are unchanged.
  const auto b = buildModel(mlp({32, 64, 8}), 10, 5);
  EXPECT_TRUE(torch::equal(b->named_parameters()["layers.0.linear.weight"], w0));
  EXPECT_TRUE(torch::equal(b->named_parameters()["layers.0.linear.bias"],
                           a->named_parameters()["layers.0.linear.bias"]));
  // Another seed changes every parameter.
  const auto c = buildModel(mlp({32, 16}), 10, 6);
  for (const auto& p : a->named_parameters()) {
    EXPECT_FALSE(torch::equal(p.value(), c->named_parameters()[p.key()])) << p.key();
  }
  // Bounds and spread of LibTorch's Linear rule.
  const double bound = 1 / std::sqrt(784.0);
  EXPECT_LE(w0.abs().max().item<double>(), bound);
  EXPECT_NEAR(w0.std().item<double>(), bound / std::sqrt(3.0), bound * 0.02);
}

TEST(ParameterInit, GptFollowsGpt2sRules) {
  jobs::ModelSpec s;
  s.kind = "gpt";
  s.d_model = 64;
  s.layers = 2;
  s.heads = 2;
  s.context = 16;
  const auto m = buildModel(s, 256, 1);
  auto p = m->named_parameters();
  EXPECT_TRUE(torch::equal(p["layers.1.ln1.weight"], torch::ones({64})));
  EXPECT_TRUE(torch::equal(p["layers.1.qkv.bias"], torch::zeros({192})));
  EXPECT_NEAR(p["layers.1.qkv.weight"].std().item<double>(), 0.02, 0.001);
  EXPECT_NEAR(p["layers.1.proj.weight"].std().item<double>(), 0.02 / std::sqrt(4.0), 0.001);
  EXPECT_NEAR(p["layers.0.tok.weight"].std().item<double>(), 0.02, 0.001);
  EXPECT_TRUE(torch::equal(p["layers.3.ln.bias"], torch::zeros({64})));
}

}  // namespace
}  // namespace mlcp::models
