#include "ops/torch_ops.h"

#include <string>

#include "base/error.h"
#include "ops/attention.h"
#include "ops/bias.h"
#include "ops/conv2d.h"
#include "ops/dropout.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/grad_clip.h"
#include "ops/layer_norm.h"
#include "ops/linear.h"
#include "ops/math_functions.h"
#include "ops/matmul.h"
#include "ops/pooling.h"
#include "ops/softmax.h"

namespace mlcp::ops::nn {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::string describe(const Tensor& t) {
  if (!t.defined()) return "an undefined tensor";
  std::string s = std::string(c10::toString(t.scalar_type())) + " tensor on " + t.device().str();
  if (!t.is_contiguous()) s += ", not contiguous";
  return s;
}

void requireTensor(const Tensor& t, torch::ScalarType type, const char* fn, const char* arg) {
  if (t.defined() && t.device().is_cpu() && t.scalar_type() == type && t.is_contiguous()) return;
  throw InvalidArgument(std::string("ops::nn::") + fn + ": " + arg + " must be a contiguous CPU " +
                        c10::toString(type) + " tensor, got " + describe(t));
}

void requireFloat(const Tensor& t, const char* fn, const char* arg) {
  requireTensor(t, torch::kFloat, fn, arg);
}

void requireShape(bool ok, const char* fn, const std::string& what) {
  if (!ok) throw InvalidArgument(std::string("ops::nn::") + fn + ": " + what);
}

float* f32(const Tensor& t) { return t.data_ptr<float>(); }

// Rows of a [..., last] tensor.
int64_t leadingRows(const Tensor& t) {
  int64_t rows = 1;
  for (int64_t i = 0; i + 1 < t.dim(); ++i) rows *= t.size(i);
  return rows;
}

std::vector<int64_t> withLast(const Tensor& t, int64_t last) {
  auto sizes = t.sizes().vec();
  sizes.back() = last;
  return sizes;
}

// The incoming gradient, contiguous float32.
Tensor gradIn(const variable_list& grads) { return grads[0].contiguous(); }

// ---- linear ---------------------------------------------------------------------------------

struct LinearFunction : torch::autograd::Function<LinearFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w, const Tensor& b) {
    const int64_t out = w.size(0), in = w.size(1), rows = leadingRows(x);
    auto y = torch::empty(withLast(x, out), x.options());
    ops::linear(f32(x), f32(w), f32(b), f32(y), rows, in, out);
    ctx->save_for_backward({x, w});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &w = saved[1];
    const Tensor dy = gradIn(grads);
    const int64_t out = w.size(0), in = w.size(1), rows = leadingRows(x);
    Tensor dx, dw, db;
    if (ctx->needs_input_grad(0)) dx = torch::empty_like(x);
    if (ctx->needs_input_grad(1)) dw = torch::empty_like(w);
    if (ctx->needs_input_grad(2)) db = torch::empty({out}, w.options());
    ops::linearBackward(f32(x), f32(w), f32(dy), dx.defined() ? f32(dx) : nullptr,
                        dw.defined() ? f32(dw) : nullptr, db.defined() ? f32(db) : nullptr, rows,
                        in, out);
    return {dx, dw, db};
  }
};

// ---- bias add ---------------------------------------------------------------------------------

struct BiasAddFunction : torch::autograd::Function<BiasAddFunction> {
  static Tensor forward(AutogradContext*, const Tensor& x, const Tensor& b) {
    auto y = x.clone();
    ops::biasAdd(f32(y), f32(b), leadingRows(x), b.numel());
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const Tensor dy = gradIn(grads);
    Tensor db;
    if (ctx->needs_input_grad(1)) {
      const int64_t cols = dy.size(-1);
      db = torch::empty({cols}, dy.options());
      ops::biasGrad(f32(dy), f32(db), leadingRows(dy), cols);
    }
    return {dy, db};
  }
};

// ---- batched matmul -------------------------------------------------------------------------

struct BmmFunction : torch::autograd::Function<BmmFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& a, const Tensor& b) {
    requireFloat(a, "bmm", "a");
    requireFloat(b, "bmm", "b");
    requireShape(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.size(2) == b.size(1),
                 "bmm", "a [batch, m, k] and b [batch, k, n] do not match");
    const int64_t batch = a.size(0), m = a.size(1), k = a.size(2), n = b.size(2);
    auto c = torch::empty({batch, m, n}, a.options());
    ops::batchedMatmul(f32(a), f32(b), f32(c), batch, m, n, k);
    ctx->save_for_backward({a, b});
    return c;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &a = saved[0], &b = saved[1];
    const Tensor dc = gradIn(grads);
    const int64_t batch = a.size(0), m = a.size(1), k = a.size(2), n = b.size(2);
    Tensor da, db;
    if (ctx->needs_input_grad(0)) {
      da = torch::empty_like(a);  // dc · bᵀ
      batchedGemm(false, true, batch, m, k, n, f32(dc), n, m * n, f32(b), n, k * n, f32(da), k,
                  m * k);
    }
    if (ctx->needs_input_grad(1)) {
      db = torch::empty_like(b);  // aᵀ · dc
      batchedGemm(true, false, batch, k, n, m, f32(a), k, m * k, f32(dc), n, m * n, f32(db), n,
                  k * n);
    }
    return {da, db};
  }
};

// ---- convolution and pooling ----------------------------------------------------------------

struct Conv2d3x3Function : torch::autograd::Function<Conv2d3x3Function> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w, const Tensor& b) {
    const int64_t o = w.size(0);
    auto y = torch::empty({x.size(0), o, x.size(2), x.size(3)}, x.options());
    ops::conv2d3x3(f32(x), f32(w), f32(b), f32(y), x.size(0), x.size(1), x.size(2), x.size(3), o);
    ctx->save_for_backward({x, w});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &w = saved[1];
    const Tensor dy = gradIn(grads);
    Tensor dx, dw, db;
    if (ctx->needs_input_grad(0)) dx = torch::empty_like(x);
    if (ctx->needs_input_grad(1)) dw = torch::empty_like(w);
    if (ctx->needs_input_grad(2)) db = torch::empty({w.size(0)}, w.options());
    ops::conv2d3x3Backward(f32(x), f32(w), f32(dy), dx.defined() ? f32(dx) : nullptr,
                           dw.defined() ? f32(dw) : nullptr, db.defined() ? f32(db) : nullptr,
                           x.size(0), x.size(1), x.size(2), x.size(3), w.size(0));
    return {dx, dw, db};
  }
};

struct MaxPool2x2Function : torch::autograd::Function<MaxPool2x2Function> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    requireFloat(x, "maxPool2x2", "x");
    requireShape(x.dim() == 4, "maxPool2x2", "x must be [n, c, h, w]");
    const int64_t h = x.size(2), w = x.size(3), planes = x.size(0) * x.size(1);
    auto y = torch::empty({x.size(0), x.size(1), h / 2, w / 2}, x.options());
    auto winner = torch::empty(y.sizes(), x.options().dtype(torch::kUInt8));
    ops::maxPool2x2(f32(x), f32(y), winner.data_ptr<uint8_t>(), planes, h, w);
    ctx->save_for_backward({winner});
    ctx->saved_data["h"] = h;
    ctx->saved_data["w"] = w;
    ctx->mark_non_differentiable({winner});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const Tensor winner = ctx->get_saved_variables()[0];
    const Tensor dy = gradIn(grads);
    const int64_t h = ctx->saved_data["h"].toInt(), w = ctx->saved_data["w"].toInt();
    auto dx = torch::empty({dy.size(0), dy.size(1), h, w}, dy.options());
    ops::maxPool2x2Backward(f32(dy), winner.data_ptr<uint8_t>(), f32(dx), dy.size(0) * dy.size(1),
                            h, w);
    return {dx};
  }
};

// ---- element-wise ---------------------------------------------------------------------------

// One autograd function per element-wise kernel pair: y = f(x); dx = f'(saved) * dy, where the
// backward kernel reads the saved input x (kSaveInput) or the saved output y.
using UnaryKernel = void (*)(const float*, float*, int64_t);
using UnaryBackwardKernel = void (*)(const float*, const float*, float*, int64_t);

template <UnaryKernel kForward, UnaryBackwardKernel kBackward, bool kSaveInput, const char* kName>
struct ElementwiseFunction
    : torch::autograd::Function<ElementwiseFunction<kForward, kBackward, kSaveInput, kName>> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    requireFloat(x, kName, "x");
    auto y = torch::empty_like(x);
    kForward(f32(x), f32(y), x.numel());
    ctx->save_for_backward({kSaveInput ? x : y});
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const Tensor saved = ctx->get_saved_variables()[0];
    const Tensor dy = gradIn(grads);
    auto dx = torch::empty_like(saved);
    kBackward(f32(saved), f32(dy), f32(dx), saved.numel());
    return {dx};
  }
};

constexpr char kReluName[] = "relu";
constexpr char kGeluName[] = "gelu";
constexpr char kTanhName[] = "tanh";
using ReluFunction = ElementwiseFunction<ops::relu, ops::reluBackward, false, kReluName>;
using GeluFunction = ElementwiseFunction<ops::gelu, ops::geluBackward, true, kGeluName>;
using TanhFunction = ElementwiseFunction<ops::tanh, ops::tanhBackward, false, kTanhName>;

// ---- softmax, cross-entropy -----------------------------------------------------------------

template <bool kLog>
struct SoftmaxFunction : torch::autograd::Function<SoftmaxFunction<kLog>> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    const char* name = kLog ? "logSoftmax" : "softmax";
    requireFloat(x, name, "x");
    requireShape(x.dim() >= 1, name, "x must have a last dimension");
    auto y = torch::empty_like(x);
    const int64_t cols = x.size(-1), rows = leadingRows(x);
    if (kLog) {
      ops::logSoftmax(f32(x), f32(y), rows, cols);
    } else {
      ops::softmax(f32(x), f32(y), rows, cols);
    }
    ctx->save_for_backward({y});
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const Tensor y = ctx->get_saved_variables()[0];
    const Tensor dy = gradIn(grads);
    auto dx = torch::empty_like(y);
    const int64_t cols = y.size(-1), rows = leadingRows(y);
    if (kLog) {
      ops::logSoftmaxBackward(f32(y), f32(dy), f32(dx), rows, cols);
    } else {
      ops::softmaxBackward(f32(y), f32(dy), f32(dx), rows, cols);
    }
    return {dx};
  }
};

struct CrossEntropyFunction : torch::autograd::Function<CrossEntropyFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& logits, const Tensor& targets) {
    requireFloat(logits, "crossEntropy", "logits");
    requireTensor(targets, torch::kInt64, "crossEntropy", "targets");
    requireShape(logits.dim() >= 1 && targets.numel() == leadingRows(logits), "crossEntropy",
                 "targets must hold one class per row of logits [..., classes]");
    const int64_t cols = logits.size(-1), rows = leadingRows(logits);
    const float loss =
        ops::crossEntropy(f32(logits), targets.data_ptr<int64_t>(), rows, cols, nullptr);
    ctx->save_for_backward({logits, targets});
    return torch::full({}, loss, logits.options());
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &logits = saved[0], &targets = saved[1];
    const float g = grads[0].item<float>();
    auto dx = torch::empty_like(logits);
    ops::crossEntropyBackward(f32(logits), targets.data_ptr<int64_t>(), g, f32(dx),
                              leadingRows(logits), logits.size(-1));
    return {dx, Tensor()};
  }
};

// ---- layer norm -----------------------------------------------------------------------------

struct LayerNormFunction : torch::autograd::Function<LayerNormFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w, const Tensor& b,
                        double eps) {
    const int64_t cols = x.size(-1), rows = leadingRows(x);
    auto y = torch::empty_like(x);
    auto mean = torch::empty({rows}, x.options());
    auto rstd = torch::empty({rows}, x.options());
    ops::layerNorm(f32(x), f32(w), f32(b), f32(y), f32(mean), f32(rstd), rows, cols,
                   static_cast<float>(eps));
    ctx->save_for_backward({x, w, mean, rstd});
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &w = saved[1], &mean = saved[2], &rstd = saved[3];
    const Tensor dy = gradIn(grads);
    const int64_t cols = x.size(-1), rows = leadingRows(x);
    Tensor dx, dw, db;
    if (ctx->needs_input_grad(0)) dx = torch::empty_like(x);
    if (ctx->needs_input_grad(1)) dw = torch::empty({cols}, x.options());
    if (ctx->needs_input_grad(2)) db = torch::empty({cols}, x.options());
    ops::layerNormBackward(f32(x), f32(w), f32(mean), f32(rstd), f32(dy),
                           dx.defined() ? f32(dx) : nullptr, dw.defined() ? f32(dw) : nullptr,
                           db.defined() ? f32(db) : nullptr, rows, cols);
    return {dx, dw, db, Tensor()};
  }
};

// ---- embedding, dropout, attention ----------------------------------------------------------

struct EmbeddingFunction : torch::autograd::Function<EmbeddingFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& tokens, const Tensor& table) {
    requireTensor(tokens, torch::kInt64, "embedding", "tokens");
    requireFloat(table, "embedding", "table");
    requireShape(table.dim() == 2, "embedding", "table must be [vocab, d]");
    auto sizes = tokens.sizes().vec();
    sizes.push_back(table.size(1));
    auto y = torch::empty(sizes, table.options());
    ops::embedding(f32(table), tokens.data_ptr<int64_t>(), f32(y), tokens.numel(), table.size(0),
                   table.size(1));
    ctx->save_for_backward({tokens});
    ctx->saved_data["vocab"] = table.size(0);
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const Tensor tokens = ctx->get_saved_variables()[0];
    const Tensor dy = gradIn(grads);
    const int64_t vocab = ctx->saved_data["vocab"].toInt(), d = dy.size(-1);
    auto dtable = torch::empty({vocab, d}, dy.options());
    ops::embeddingBackward(tokens.data_ptr<int64_t>(), f32(dy), f32(dtable), tokens.numel(), vocab,
                           d);
    return {Tensor(), dtable};
  }
};

struct DropoutFunction : torch::autograd::Function<DropoutFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, double p, int64_t seed,
                        int64_t offset) {
    requireFloat(x, "dropout", "x");
    auto y = torch::empty_like(x);
    ops::dropout(f32(x), f32(y), x.numel(), static_cast<float>(p), static_cast<uint64_t>(seed),
                 static_cast<uint64_t>(offset));
    ctx->saved_data["p"] = p;
    ctx->saved_data["seed"] = seed;
    ctx->saved_data["offset"] = offset;
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const Tensor dy = gradIn(grads);
    auto dx = torch::empty_like(dy);
    ops::dropoutBackward(f32(dy), f32(dx), dy.numel(),
                         static_cast<float>(ctx->saved_data["p"].toDouble()),
                         static_cast<uint64_t>(ctx->saved_data["seed"].toInt()),
                         static_cast<uint64_t>(ctx->saved_data["offset"].toInt()));
    return {dx, Tensor(), Tensor(), Tensor()};
  }
};

// {heads, total_heads, first_head} as the kernel's HeadLayout (empty: the flat index).
HeadLayout headLayout(const std::vector<int64_t>& v) {
  HeadLayout l;
  if (v.size() == 3) {
    l.heads = v[0];
    l.total_heads = v[1];
    l.first_head = v[2];
  }
  return l;
}

struct CausalAttentionFunction : torch::autograd::Function<CausalAttentionFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                        double p, int64_t seed, std::vector<int64_t> layout) {
    requireFloat(q, "causalAttention", "q");
    requireFloat(k, "causalAttention", "k");
    requireFloat(v, "causalAttention", "v");
    requireShape(q.dim() == 3 && q.sizes() == k.sizes() && q.sizes() == v.sizes(),
                 "causalAttention", "q, k and v must all be [bh, t, d]");
    const int64_t bh = q.size(0), t = q.size(1), d = q.size(2);
    auto y = torch::empty_like(q);
    auto probs = torch::empty({bh, t, t}, q.options());
    ops::causalAttention(f32(q), f32(k), f32(v), f32(y), f32(probs), bh, t, d,
                         static_cast<float>(p), static_cast<uint64_t>(seed), headLayout(layout));
    ctx->save_for_backward({q, k, v, probs});
    ctx->saved_data["p"] = p;
    ctx->saved_data["seed"] = seed;
    ctx->saved_data["layout"] = layout;
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &q = saved[0], &k = saved[1], &v = saved[2], &probs = saved[3];
    const Tensor dy = gradIn(grads);
    Tensor dq, dk, dv;
    if (ctx->needs_input_grad(0)) dq = torch::empty_like(q);
    if (ctx->needs_input_grad(1)) dk = torch::empty_like(k);
    if (ctx->needs_input_grad(2)) dv = torch::empty_like(v);
    ops::causalAttentionBackward(f32(q), f32(k), f32(v), f32(probs), f32(dy),
                                 dq.defined() ? f32(dq) : nullptr, dk.defined() ? f32(dk) : nullptr,
                                 dv.defined() ? f32(dv) : nullptr, q.size(0), q.size(1), q.size(2),
                                 static_cast<float>(ctx->saved_data["p"].toDouble()),
                                 static_cast<uint64_t>(ctx->saved_data["seed"].toInt()),
                                 headLayout(ctx->saved_data["layout"].toIntVector()));
    return {dq, dk, dv, Tensor(), Tensor(), Tensor()};
  }
};

// LibTorch 1.13's custom functions cannot take undefined tensors: a missing bias becomes zeros
// that need no gradient (the accumulators start at +0 either way: the same bits), a missing
// layer-norm weight ones (x * 1 is x).
Tensor orFilled(const Tensor& t, int64_t n, const Tensor& like, float value) {
  return t.defined() ? t : torch::full({n}, value, like.options().requires_grad(false));
}

void requireVector(const Tensor& t, int64_t n, const char* fn, const char* arg) {
  if (!t.defined()) return;
  requireFloat(t, fn, arg);
  requireShape(t.dim() == 1 && t.size(0) == n, fn,
               std::string(arg) + " must have " + std::to_string(n) + " elements");
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  requireFloat(x, "linear", "x");
  requireFloat(w, "linear", "weight");
  requireShape(w.dim() == 2 && x.dim() >= 1 && x.size(-1) == w.size(1), "linear",
               "x [..., in] and weight [out, in] do not match");
  requireVector(b, w.size(0), "linear", "bias");
  return LinearFunction::apply(x, w, orFilled(b, w.size(0), w, 0.0f));
}
Tensor biasAdd(const Tensor& x, const Tensor& b) {
  requireFloat(x, "biasAdd", "x");
  requireShape(x.dim() >= 1, "biasAdd", "x must have a last dimension");
  requireVector(b, x.size(-1), "biasAdd", "bias");
  return BiasAddFunction::apply(x, b);
}
Tensor bmm(const Tensor& a, const Tensor& b) { return BmmFunction::apply(a, b); }
Tensor conv2d3x3(const Tensor& x, const Tensor& w, const Tensor& b) {
  requireFloat(x, "conv2d3x3", "x");
  requireFloat(w, "conv2d3x3", "weight");
  requireShape(
      x.dim() == 4 && w.dim() == 4 && w.size(1) == x.size(1) && w.size(2) == 3 && w.size(3) == 3,
      "conv2d3x3", "x [n, c, h, w] and weight [o, c, 3, 3] do not match");
  requireVector(b, w.size(0), "conv2d3x3", "bias");
  return Conv2d3x3Function::apply(x, w, orFilled(b, w.size(0), w, 0.0f));
}
Tensor maxPool2x2(const Tensor& x) { return MaxPool2x2Function::apply(x); }
Tensor relu(const Tensor& x) { return ReluFunction::apply(x); }
Tensor gelu(const Tensor& x) { return GeluFunction::apply(x); }
Tensor tanh(const Tensor& x) { return TanhFunction::apply(x); }
Tensor softmax(const Tensor& x) { return SoftmaxFunction<false>::apply(x); }
Tensor logSoftmax(const Tensor& x) { return SoftmaxFunction<true>::apply(x); }
Tensor crossEntropy(const Tensor& logits, const Tensor& targets) {
  return CrossEntropyFunction::apply(logits, targets);
}
Tensor layerNorm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  requireFloat(x, "layerNorm", "x");
  requireShape(x.dim() >= 1, "layerNorm", "x must have a last dimension");
  const int64_t d = x.size(-1);
  requireVector(weight, d, "layerNorm", "weight");
  requireVector(bias, d, "layerNorm", "bias");
  return LayerNormFunction::apply(x, orFilled(weight, d, x, 1.0f), orFilled(bias, d, x, 0.0f), eps);
}
Tensor embedding(const Tensor& tokens, const Tensor& table) {
  return EmbeddingFunction::apply(tokens, table);
}
Tensor dropout(const Tensor& x, double p, uint64_t seed, bool training, uint64_t offset) {
  if (!training || p == 0.0) return x;
  return DropoutFunction::apply(x, p, static_cast<int64_t>(seed), static_cast<int64_t>(offset));
}
Tensor causalAttention(const Tensor& q, const Tensor& k, const Tensor& v, double dropout_p,
                       uint64_t seed, const HeadLayout& layout) {
  const std::vector<int64_t> l =
      layout.heads > 0 ? std::vector<int64_t>{layout.heads, layout.total_heads, layout.first_head}
                       : std::vector<int64_t>{};
  return CausalAttentionFunction::apply(q, k, v, dropout_p, static_cast<int64_t>(seed), l);
}

double clipGradNorm(const std::vector<Tensor>& params, double max_norm) {
  std::vector<FloatSpan> grads;
  for (const auto& p : params) {
    const Tensor& g = p.grad();
    if (!g.defined()) continue;
    requireFloat(g, "clipGradNorm", "a parameter's gradient");
    grads.push_back({f32(g), g.numel()});
  }
  if (grads.empty()) return 0.0;
  return ops::clipGradNorm(grads, max_norm);
}

void adamwStep(const Tensor& param, const Tensor& grad, AdamWState& state,
               const AdamWOptions& options) {
  if (!grad.defined()) return;
  requireFloat(param, "adamwStep", "param");
  requireFloat(grad, "adamwStep", "grad");
  requireShape(param.sizes() == grad.sizes(), "adamwStep", "param and grad differ in shape");
  if (!state.exp_avg.defined()) {
    state.exp_avg = torch::zeros_like(param);
    state.exp_avg_sq = torch::zeros_like(param);
    state.step = 0;
  }
  state.step += 1;
  adamwUpdate(f32(param), f32(grad), f32(state.exp_avg), f32(state.exp_avg_sq), param.numel(),
              state.step, options);
}

void sgdStep(const Tensor& param, const Tensor& grad, SgdState& state, const SgdOptions& options) {
  if (!grad.defined()) return;
  requireFloat(param, "sgdStep", "param");
  requireFloat(grad, "sgdStep", "grad");
  requireShape(param.sizes() == grad.sizes(), "sgdStep", "param and grad differ in shape");
  const bool first = !state.momentum_buffer.defined();
  if (options.momentum != 0 && first) state.momentum_buffer = torch::empty_like(param);
  sgdUpdate(f32(param), f32(grad),
            state.momentum_buffer.defined() ? f32(state.momentum_buffer) : nullptr, param.numel(),
            first, options);
}

}  // namespace mlcp::ops::nn
