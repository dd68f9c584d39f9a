#include "models/cnn.h"

#include "jobs/job_spec.h"
#include "models/mlp.h"

namespace mlcp::models {

ConvBlock::ConvBlock(int64_t in_channels, int64_t out_channels, int64_t in_size)
    : cin_(in_channels), cout_(out_channels), size_(in_size) {
  conv_ = register_module(
      "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 3).padding(1)));
}

torch::Tensor ConvBlock::forward(const torch::Tensor& x) {
  return torch::max_pool2d(torch::relu(conv_->forward(x)), 2);
}

LayerCost ConvBlock::cost() const {
  LayerCost c;
  c.name = "conv " + std::to_string(cin_) + "->" + std::to_string(cout_);
  c.forward_flops = 2.0 * 9 * cin_ * cout_ * size_ * size_;
  c.backward_flops = 2 * c.forward_flops;
  c.param_bytes = 4.0 * (9 * cin_ * cout_ + cout_);
  c.activation_bytes = 4.0 * cout_ * size_ * size_;
  return c;
}

std::shared_ptr<LayerModel> buildCnn(const jobs::ModelSpec& spec, int64_t num_classes) {
  std::vector<std::shared_ptr<Layer>> layers;
  int64_t channels = 1, size = 28;
  for (int64_t c : spec.channels) {
    layers.push_back(std::make_shared<ConvBlock>(channels, c, size));
    channels = c;
    size /= 2;
  }
  layers.push_back(std::make_shared<DenseLayer>(channels * size * size, num_classes, false));
  return std::make_shared<LayerModel>("cnn", std::move(layers));
}

}  // namespace mlcp::models
