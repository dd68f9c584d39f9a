// The complete state of a training job as named tensors in the logical (unsharded) layout:
// what a checkpoint stores, what a resume restores, and what the per-step state hash covers.
//
//   params/<parameter name>              float32   the parameter ("layers.2.linear.weight")
//   optim/<parameter name>/exp_avg       float32   AdamW first moment
//   optim/<parameter name>/exp_avg_sq    float32   AdamW second moment
//   optim/<parameter name>/step          int64     AdamW step count (scalar)
//   optim/<parameter name>/momentum      float32   SGD momentum buffer
//   train/step                           int64     optimizer steps completed (scalar)
//
// Nothing else is needed to continue bit for bit: the data position is a function of the step,
// and randomness is counter-based (seed, step, micro-batch), so there is no generator state.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mlcp::runtime {

struct NamedTensor {
  std::string name;
  torch::Tensor tensor;  // contiguous, CPU
};

// Collects the state in name order. `params` are the model's named parameters in
// registration order.
std::vector<NamedTensor> collectTrainingState(
    const std::vector<std::pair<std::string, torch::Tensor>>& params,
    torch::optim::Optimizer& optimizer, int64_t step);

// Restores parameters and optimizer state from `lookup(name)`, which returns the stored tensor
// or an undefined tensor when absent; returns the step. Throws VerificationError when a
// parameter is missing or its shape differs.
int64_t restoreTrainingState(const std::vector<std::pair<std::string, torch::Tensor>>& params,
                             torch::optim::Optimizer& optimizer,
                             const std::function<torch::Tensor(const std::string&)>& lookup);

}  // namespace mlcp::runtime
