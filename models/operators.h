// The operator set a model computes with — the job's `[runtime] ops` — behind one interface, so a
// layer, a loss or an update names each operator once and the job picks the arithmetic:
//
//   reproducible (the default): mlcp's own operators (ops/ops.h), forward and backward. Each
//     result is one fixed sequence of float operations fixed by the shapes, so the same inputs
//     give the same bits on every x86-64 CPU, instruction-set path (MLCP_ISA), intra-op thread
//     count, OpenBLAS core type and ATen CPU capability. Dropout masks come from Philox streams
//     (ops/dropout.h), initial parameters from ops/random.h.
//   native: LibTorch's ATen kernels and OpenBLAS, as mlcp computed before its own operators.
//     Faster on some shapes; the same bits only where the CPU picks the same kernels and the
//     job's intra_op_threads is kept (docs/determinism.md).
//
// Either way a run is bitwise identical on every placement (data and pipeline parallelism); the
// set and its version are part of the logical program (checkpoint manifests record them and ranks
// must agree before a run starts).
//
// Tensors are CPU float32 (tokens and targets int64). The reproducible operators need contiguous
// inputs; these wrappers make them so.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mlcp::models {

enum class OpSet { kReproducible, kNative };

// "reproducible", "native".
const char* opSetName(OpSet set);
// The set named `name`; UsageError naming `origin` (e.g. "runtime.ops") and the choices otherwise.
OpSet parseOpSet(const std::string& name, const std::string& origin);
// The set and the version of its arithmetic, e.g. "reproducible (mlcp ops 1)": what a run
// records and what its ranks compare. Bumped whenever any reproducible formula changes.
std::string opSetVersion(OpSet set);

// Which attention heads a rank holds (tensor parallelism): `heads` of `total_heads`, from
// `first_head`. Default: all heads of the tensor.
struct AttentionHeads {
  int64_t heads = 0, total_heads = 0, first_head = 0;
};

class Operators {
 public:
  explicit Operators(OpSet set = OpSet::kReproducible) : set_(set) {}
  OpSet set() const { return set_; }
  bool reproducible() const { return set_ == OpSet::kReproducible; }

  // ---- autograd operators --------------------------------------------------------------------
  // x [..., in] · wᵀ + b; w [out, in], b [out] or undefined.
  torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w,
                       const torch::Tensor& b = {}) const;
  // x [..., n] + b [n].
  torch::Tensor biasAdd(const torch::Tensor& x, const torch::Tensor& b) const;
  // 3x3 convolution, stride 1, padding 1; 2x2 max-pool, stride 2.
  torch::Tensor conv2d3x3(const torch::Tensor& x, const torch::Tensor& w,
                          const torch::Tensor& b) const;
  torch::Tensor maxPool2x2(const torch::Tensor& x) const;
  torch::Tensor relu(const torch::Tensor& x) const;
  torch::Tensor gelu(const torch::Tensor& x) const;  // the erf form
  torch::Tensor layerNorm(const torch::Tensor& x, const torch::Tensor& weight,
                          const torch::Tensor& bias, double eps = 1e-5) const;
  // table[tokens]: tokens int64 [...], table [vocab, d] -> [..., d].
  torch::Tensor embedding(const torch::Tensor& tokens, const torch::Tensor& table) const;
  // Dropout with probability p (identity when !training or p == 0). The mask comes from the
  // default CPU generator, which the executors seed per (step, micro-batch, layer): native draws
  // its Bernoulli mask from it; reproducible draws one 64-bit Philox seed from it per call.
  torch::Tensor dropout(const torch::Tensor& x, double p, bool training) const;
  // Causal attention of q, k, v [B, h, T, hd] -> [B, h, T, hd]: softmax(q kᵀ / sqrt(hd), causal
  // mask), dropout p on the probabilities (when training), times v. Under tensor parallelism
  // `heads` says which of the model's heads these are, so the dropout masks are the unsharded
  // model's.
  torch::Tensor causalAttention(const torch::Tensor& q, const torch::Tensor& k,
                                const torch::Tensor& v, double p, bool training,
                                const AttentionHeads& heads = {}) const;
  // Mean cross-entropy of logits [..., C] against int64 targets [...].
  torch::Tensor crossEntropy(const torch::Tensor& logits, const torch::Tensor& target) const;
  // Mean of all elements (reproducible: a sum in ascending index order, then one division).
  torch::Tensor mean(const torch::Tensor& x) const;

  // ---- without autograd ----------------------------------------------------------------------
  torch::Tensor exp(const torch::Tensor& x) const;
  torch::Tensor log(const torch::Tensor& x) const;
  // [rows, cols] -> [rows]: each row's sum.
  torch::Tensor rowSums(const torch::Tensor& x) const;
  // Per-row cross-entropy sum of logits [rows, C] against targets [rows] (evaluation): a float64
  // scalar tensor.
  double crossEntropySum(const torch::Tensor& logits, const torch::Tensor& target) const;
  // The L2 norm of x, and the global norm of several tensors from their norms, as
  // torch::nn::utils::clip_grad_norm_ combines them (reproducible: ops/grad_clip.h's order).
  float l2Norm(const torch::Tensor& x) const;
  float combineNorms(const std::vector<float>& norms) const;

 private:
  OpSet set_;
};

}  // namespace mlcp::models
