// The operator-level record of one training step: what the dispute protocol bisects over once
// two runs are narrowed to a single step (docs/verification.md, "Dispute").
//
// A step is the fixed sequence of operators below, in this order (M micro-batches, L layers;
// an operator with no outputs — a layer without parameters and without an input gradient — is
// left out):
//    0  state                      parameters and optimizer state before the step
//       for j in 0..M-1:
//         mb<j>/data               the micro-batch's input and target
//         mb<j>/forward/<l>        layer l's output (dropout draws from the generator seeded
//                                  with (seed, step, j, l): runtime/job_setup.h)  (l = 0..L-1)
//         mb<j>/loss               the mean loss and its gradient w.r.t. the logits
//         mb<j>/backward/<l>       gradient w.r.t. layer l's input, its parameters' gradients
//                                                                                (l = L-1..0)
//       reduce/<l>                 the exact mean over all micro-batches of layer l's gradients
//       clip                       every gradient after global-norm clipping (when configured)
//       update/<l>                 layer l's parameters and optimizer state after the update
// Every input of an operator is an output of an earlier one (or of `state`), so when two
// parties agree on operators 0..k-1 and disagree on k, operator k's inputs agree and its
// computation alone is in question: the referee (runtime/referee.h) recomputes it.
//
// An operator's hash is BLAKE2b-256 over its outputs in order: for each, the name, a NUL byte
// and the 32-byte tensor hash (verify/hash.h). The prefix chain p_k = BLAKE2b(p_{k-1} || h_k),
// p_{-1} = 32 zero bytes, makes "agree on 0..k" a single comparison, so bisection is sound.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/training_state.h"
#include "verify/hash.h"

namespace mlcp::runtime {

enum class OperatorKind { kState, kData, kForward, kLoss, kBackward, kReduce, kClip, kUpdate };

struct OperatorId {
  OperatorKind kind = OperatorKind::kState;
  int64_t micro_batch = -1;  // data, forward, loss, backward
  int64_t layer = -1;        // forward, backward, reduce, update

  std::string name() const;  // "mb2/forward/1", "reduce/0", "state", ...
  // Throws InvalidArgument for a name name() cannot produce.
  static OperatorId parse(const std::string& name);
  // One line for people: "forward of layer 1 on micro-batch 2".
  std::string describe() const;
};

struct TracedOperator {
  OperatorId id;
  std::string name;
  std::vector<NamedTensor> outputs;  // owned copies
  verify::Hash256 hash;
};

// The operator hash described above.
verify::Hash256 hashOperatorOutputs(const std::vector<NamedTensor>& outputs);

// The layer index of a parameter named "layers.<i>.<...>"; -1 for any other name.
int64_t layerOfParameter(const std::string& name);

class OperatorTrace {
 public:
  // `step`: the traced step, 1-based as progress prints it.
  explicit OperatorTrace(int64_t step = 0) : step_(step) {}

  // Appends an operator; copies the tensors (detached, contiguous). Operators with no outputs
  // are not recorded.
  void record(const OperatorId& id, const std::vector<NamedTensor>& outputs);

  int64_t step() const { return step_; }
  void setStep(int64_t step) { step_ = step; }
  const std::vector<TracedOperator>& operators() const { return ops_; }
  std::vector<verify::Hash256> prefixChain() const;

  // Throws InvalidArgument naming what is missing.
  const TracedOperator& at(const std::string& op_name) const;
  const torch::Tensor& output(const std::string& op_name, const std::string& output_name) const;
  bool has(const std::string& op_name) const;

 private:
  int64_t step_;
  std::vector<TracedOperator> ops_;
};

}  // namespace mlcp::runtime
