#include "runtime/recompute.h"

#include "runtime/job_setup.h"

namespace mlcp::runtime {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The layer and its coordinates travel through the autograd context as integers (IValue cannot
// hold a pointer); forwardLayer's contract keeps the model alive until the backward has run.
struct RecomputedLayer : torch::autograd::Function<RecomputedLayer> {
  // `anchor`: an empty tensor that requires a gradient, so the backward runs even when x does
  // not (the first layer's input is data): the layer's parameters are not inputs here.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& anchor, models::LayerModel* model,
                               int64_t layer, LayerCoordinates at) {
    ctx->saved_data["model"] = static_cast<int64_t>(reinterpret_cast<intptr_t>(model));
    ctx->saved_data["layer"] = layer;
    ctx->saved_data["seed"] = static_cast<int64_t>(at.seed);
    ctx->saved_data["step"] = at.step;
    ctx->saved_data["micro_batch"] = at.micro_batch;
    ctx->saved_data["x_grad"] = x.requires_grad();
    ctx->save_for_backward({x});
    torch::NoGradGuard no_grad;
    seedLayer(at.seed, at.step, at.micro_batch, layer);
    return model->forward(x, layer, layer + 1);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto* model = reinterpret_cast<models::LayerModel*>(
        static_cast<intptr_t>(ctx->saved_data["model"].toInt()));
    const int64_t layer = ctx->saved_data["layer"].toInt();
    auto x = ctx->get_saved_variables()[0].detach();
    const bool x_grad = ctx->saved_data["x_grad"].toBool();
    if (x_grad) x.requires_grad_(true);
    torch::AutoGradMode enable_grad(true);
    seedLayer(static_cast<uint64_t>(ctx->saved_data["seed"].toInt()),
              ctx->saved_data["step"].toInt(), ctx->saved_data["micro_batch"].toInt(), layer);
    auto y = model->forward(x, layer, layer + 1);
    // Accumulates into the layer's parameters' .grad as the plain backward would, and into x.
    torch::autograd::backward({y}, {grads[0]});
    return {x_grad ? x.grad() : torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor forwardLayer(models::LayerModel& model, int64_t layer, const torch::Tensor& x,
                           const LayerCoordinates& at, bool recompute) {
  if (!recompute || !torch::GradMode::is_enabled()) {
    seedLayer(at.seed, at.step, at.micro_batch, layer);
    return model.forward(x, layer, layer + 1);
  }
  const auto anchor = torch::empty({0}).requires_grad_(true);
  return RecomputedLayer::apply(x, anchor, &model, layer, at);
}

}  // namespace mlcp::runtime
