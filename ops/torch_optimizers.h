// LibTorch optimizers whose update runs the reproducible kernels (ops/optimizer_update.h):
// drop-in subclasses of torch::optim::AdamW and torch::optim::SGD, with their options, param
// groups and per-parameter state types (AdamWParamState, SGDParamState), so code that sets the
// learning rate, saves or restores the state, or inspects it works unchanged. Only step()
// differs: every element is updated by the fixed float formulas of ops/optimizer_update.h, so
// the result is the same on every CPU path and thread count.
//
// Supported: the options mlcp's jobs use — AdamW(lr, betas, eps, weight_decay) without amsgrad;
// SGD(lr, momentum, dampening, weight_decay, nesterov). amsgrad is refused at construction.
// Parameters must be contiguous CPU float32 tensors; a parameter without a gradient is skipped,
// as LibTorch does.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace mlcp::ops::nn {

// The key of `param`'s entry in a LibTorch optimizer's state() (its TensorImpl address).
std::string optimizerStateKey(const torch::Tensor& param);

class ReproducibleAdamW : public torch::optim::AdamW {
 public:
  ReproducibleAdamW(std::vector<torch::Tensor> params, torch::optim::AdamWOptions options);
  torch::Tensor step(LossClosure closure = nullptr) override;
};

class ReproducibleSgd : public torch::optim::SGD {
 public:
  ReproducibleSgd(std::vector<torch::Tensor> params, torch::optim::SGDOptions options);
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace mlcp::ops::nn
