#include "models/cnn.h"

#include <cmath>

#include "jobs/job_spec.h"
#include "models/mlp.h"

namespace mlcp::models {

ConvBlock::ConvBlock(int64_t in_channels, int64_t out_channels, int64_t in_size, Operators ops)
    : Layer(ops), cin_(in_channels), cout_(out_channels), size_(in_size) {
  conv_ = register_module(
      "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 3).padding(1)));
}

torch::Tensor ConvBlock::forward(const torch::Tensor& x) {
  return ops().maxPool2x2(ops().relu(ops().conv2d3x3(x, conv_->weight, conv_->bias)));
}

ParameterInit ConvBlock::initOf(const std::string&) const {
  const double bound = 1.0 / std::sqrt(9.0 * static_cast<double>(cin_));
  return ParameterInit::uniform(-bound, bound);
}

LayerCost ConvBlock::cost() const {
  LayerCost c;
  c.name = "conv " + std::to_string(cin_) + "->" + std::to_string(cout_);
  c.flops_fwd = 2.0 * 9 * cin_ * cout_ * size_ * size_;
  c.flops_bwd = 2 * c.flops_fwd;
  c.param_bytes = static_cast<int64_t>(4.0 * (9 * cin_ * cout_ + cout_));
  c.activation_bytes = static_cast<int64_t>(4.0 * cout_ * size_ * size_);
  c.output_bytes = static_cast<int64_t>(4.0 * cout_ * (size_ / 2) * (size_ / 2));
  return c;
}

std::shared_ptr<LayerModel> buildCnn(const jobs::ModelSpec& spec, int64_t num_classes,
                                     Operators ops) {
  std::vector<std::shared_ptr<Layer>> layers;
  int64_t channels = 1, size = 28;
  for (int64_t c : spec.channels) {
    layers.push_back(std::make_shared<ConvBlock>(channels, c, size, ops));
    channels = c;
    size /= 2;
  }
  layers.push_back(std::make_shared<DenseLayer>(channels * size * size, num_classes, false, ops));
  return std::make_shared<LayerModel>("cnn", std::move(layers), ops);
}

}  // namespace mlcp::models
