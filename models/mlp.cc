#include "models/mlp.h"

#include "jobs/job_spec.h"

namespace mlcp::models {

DenseLayer::DenseLayer(int64_t in, int64_t out, bool relu) : in_(in), out_(out), relu_(relu) {
  linear_ = register_module("linear", torch::nn::Linear(in, out));
}

torch::Tensor DenseLayer::forward(const torch::Tensor& x) {
  auto y = linear_->forward(x.reshape({x.size(0), -1}));
  return relu_ ? torch::relu(y) : y;
}

LayerCost DenseLayer::cost() const {
  LayerCost c;
  c.name = "dense " + std::to_string(in_) + "->" + std::to_string(out_);
  c.forward_flops = 2.0 * in_ * out_;
  c.backward_flops = 2 * c.forward_flops;
  c.param_bytes = 4.0 * (in_ * out_ + out_);
  c.activation_bytes = 4.0 * out_;
  return c;
}

std::shared_ptr<LayerModel> buildMlp(const jobs::ModelSpec& spec, int64_t num_classes) {
  std::vector<std::shared_ptr<Layer>> layers;
  int64_t in = 28 * 28;
  for (int64_t width : spec.hidden) {
    layers.push_back(std::make_shared<DenseLayer>(in, width, true));
    in = width;
  }
  layers.push_back(std::make_shared<DenseLayer>(in, num_classes, false));
  return std::make_shared<LayerModel>("mlp", std::move(layers));
}

}  // namespace mlcp::models
