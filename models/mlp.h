// Multi-layer perceptron classifier: flatten, then [Linear -> ReLU] per hidden width, then a
// Linear head. Layers: one per hidden width (the first also flattens) plus the head.
#pragma once

#include "models/layer_model.h"

namespace mlcp::models {

// y = relu(x W^T + b), x flattened to [batch, in] first.
class DenseLayer : public Layer {
 public:
  DenseLayer(int64_t in, int64_t out, bool relu, Operators ops);
  torch::Tensor forward(const torch::Tensor& x) override;
  LayerCost cost() const override;
  // LibTorch's Linear initialisation: weight and bias U(-1/sqrt(in), 1/sqrt(in)).
  ParameterInit initOf(const std::string& name) const override;

 private:
  torch::nn::Linear linear_{nullptr};
  int64_t in_, out_;
  bool relu_;
};

std::shared_ptr<LayerModel> buildMlp(const jobs::ModelSpec& spec, int64_t num_classes,
                                     Operators ops);

}  // namespace mlcp::models
