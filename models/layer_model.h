// Every model in mlcp is a sequence of layers: the unit that pipeline stages are cut at, that
// checkpoints name ("layers.<i>.<param>"), and that the dispute protocol hashes operator by
// operator. Parameter names and order are the same in every placement.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace mlcp::jobs {
struct ModelSpec;
}

namespace mlcp::models {

// Per-sample cost of one layer, for the partitioner (floating-point operations, bytes).
struct LayerCost {
  std::string name;
  double forward_flops = 0;   // per sample
  double backward_flops = 0;  // per sample (about 2x forward)
  double param_bytes = 0;
  double activation_bytes = 0;  // per sample, the layer's output kept for backward
};

class Layer : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual LayerCost cost() const = 0;
};

class LayerModel : public torch::nn::Module {
 public:
  LayerModel(std::string kind, std::vector<std::shared_ptr<Layer>> layers);

  // Runs layers [begin, end) on x; the whole model by default.
  torch::Tensor forward(const torch::Tensor& x, int64_t begin = 0, int64_t end = -1);
  // Mean cross-entropy of logits [..., C] against integer targets [...].
  static torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& target);

  int64_t numLayers() const { return static_cast<int64_t>(layers_.size()); }
  Layer& layer(int64_t i) { return *layers_.at(static_cast<size_t>(i)); }
  const std::string& kind() const { return kind_; }
  std::vector<LayerCost> costs() const;
  int64_t numParameters() const;

 private:
  std::string kind_;
  std::vector<std::shared_ptr<Layer>> layers_;
};

// Builds the model a job names, with initial parameters drawn from `seed` alone (every rank
// builds the identical model). `num_classes` is the output width (10 classes, or 256 bytes).
std::shared_ptr<LayerModel> buildModel(const jobs::ModelSpec& spec, int64_t num_classes,
                                       uint64_t seed);

}  // namespace mlcp::models
