// A user's program built against an installed mlcp: mlcp's whole command line plus a model of
// its own, "residual_mlp" — mlcp's DenseLayer in and out, and between them residual blocks, a
// layer this program defines. Every mlcp command then runs jobs with model.kind =
// "residual_mlp": `residual_mlcp run job.toml`, under mpirun with pipeline stages, `verify`,
// `export`. docs/models.md walks through it.
#include <cmath>

#include "app/command_line.h"
#include "base/error.h"
#include "models/mlp.h"
#include "models/model_registry.h"

namespace {

using mlcp::models::Layer;
using mlcp::models::LayerCost;
using mlcp::models::Operators;
using mlcp::models::ParameterInit;

// y = x + relu(x W^T + b), width in and out.
class ResidualBlock : public Layer {
 public:
  ResidualBlock(int64_t width, Operators ops) : Layer(ops), width_(width) {
    linear_ = register_module("linear", torch::nn::Linear(width, width));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return x + ops().relu(ops().linear(x, linear_->weight, linear_->bias));
  }
  LayerCost cost() const override {
    LayerCost c;
    c.name = "residual " + std::to_string(width_);
    c.flops_fwd = 2.0 * width_ * width_ + width_;
    c.flops_bwd = 2 * c.flops_fwd;
    c.param_bytes = 4 * (width_ * width_ + width_);
    c.activation_bytes = 4 * 2 * width_;
    c.output_bytes = 4 * width_;
    return c;
  }
  // Small residual branches at the start: U(-0.1/sqrt(width), 0.1/sqrt(width)).
  ParameterInit initOf(const std::string&) const override {
    const double bound = 0.1 / std::sqrt(static_cast<double>(width_));
    return ParameterInit::uniform(-bound, bound);
  }

 private:
  torch::nn::Linear linear_{nullptr};
  int64_t width_;
};

mlcp::models::ModelKind residualMlp() {
  mlcp::models::ModelKind kind;
  kind.name = "residual_mlp";
  kind.summary = "dense 784->width, `blocks` residual blocks, dense head";
  kind.input = mlcp::models::ModelInput::kImages;
  kind.options = {"width", "blocks"};
  kind.layers = [](const mlcp::jobs::ModelOptions& o, int64_t classes, Operators ops) {
    const int64_t width = o.getInt("width", 64);
    const int64_t blocks = o.getInt("blocks", 2);
    if (width <= 0 || blocks < 0) {
      throw mlcp::UsageError("model.options: residual_mlp needs width > 0 and blocks >= 0");
    }
    std::vector<std::shared_ptr<Layer>> layers;
    layers.push_back(std::make_shared<mlcp::models::DenseLayer>(28 * 28, width, true, ops));
    for (int64_t i = 0; i < blocks; ++i)
      layers.push_back(std::make_shared<ResidualBlock>(width, ops));
    layers.push_back(std::make_shared<mlcp::models::DenseLayer>(width, classes, false, ops));
    return layers;
  };
  return kind;
}

}  // namespace

int main(int argc, char** argv) {
  mlcp::models::registerModel(residualMlp());
  return mlcp::app::runCommandLine(argc, argv);
}
