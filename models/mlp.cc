#include "models/mlp.h"

#include <cmath>

#include "jobs/job_spec.h"

namespace mlcp::models {

DenseLayer::DenseLayer(int64_t in, int64_t out, bool relu, Operators ops)
    : Layer(ops), in_(in), out_(out), relu_(relu) {
  linear_ = register_module("linear", torch::nn::Linear(in, out));
}

torch::Tensor DenseLayer::forward(const torch::Tensor& x) {
  auto y = ops().linear(x.reshape({x.size(0), -1}), linear_->weight, linear_->bias);
  return relu_ ? ops().relu(y) : y;
}

ParameterInit DenseLayer::initOf(const std::string&) const {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_));
  return ParameterInit::uniform(-bound, bound);
}

LayerCost DenseLayer::cost() const {
  LayerCost c;
  c.name = "dense " + std::to_string(in_) + "->" + std::to_string(out_);
  c.flops_fwd = 2.0 * in_ * out_;
  c.flops_bwd = 2 * c.flops_fwd;
  c.param_bytes = static_cast<int64_t>(4.0 * (in_ * out_ + out_));
  c.activation_bytes = static_cast<int64_t>(4.0 * out_);
  c.output_bytes = c.activation_bytes;
  return c;
}

std::shared_ptr<LayerModel> buildMlp(const jobs::ModelSpec& spec, int64_t num_classes,
                                     Operators ops) {
  std::vector<std::shared_ptr<Layer>> layers;
  int64_t in = 28 * 28;
  for (int64_t width : spec.hidden) {
    layers.push_back(std::make_shared<DenseLayer>(in, width, true, ops));
    in = width;
  }
  layers.push_back(std::make_shared<DenseLayer>(in, num_classes, false, ops));
  return std::make_shared<LayerModel>("mlp", std::move(layers), ops);
}

}  // namespace mlcp::models
