// Small convolutional classifier for 28x28 images: per entry of `channels` a block
// [3x3 conv (padding 1) -> ReLU -> 2x2 max-pool], then a linear head on the flattened map.
#pragma once

#include "models/layer_model.h"

namespace mlcp::models {

class ConvBlock : public Layer {
 public:
  ConvBlock(int64_t in_channels, int64_t out_channels, int64_t in_size, Operators ops);
  torch::Tensor forward(const torch::Tensor& x) override;
  LayerCost cost() const override;
  // LibTorch's Conv2d initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = 9 * in.
  ParameterInit initOf(const std::string& name) const override;

 private:
  torch::nn::Conv2d conv_{nullptr};
  int64_t cin_, cout_, size_;
};

std::shared_ptr<LayerModel> buildCnn(const jobs::ModelSpec& spec, int64_t num_classes,
                                     Operators ops);

}  // namespace mlcp::models
