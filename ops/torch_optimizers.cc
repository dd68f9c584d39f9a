#include "ops/torch_optimizers.h"

#include <string>

#include "base/error.h"
#include "ops/optimizer_update.h"

namespace mlcp::ops::nn {
namespace {

void requireParameter(const torch::Tensor& p, const torch::Tensor& g, const char* optimizer) {
  const auto ok = [](const torch::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == torch::kFloat && t.is_contiguous();
  };
  if (!ok(p) || !ok(g) || p.sizes() != g.sizes()) {
    throw InvalidArgument(std::string(optimizer) +
                          ": parameters and gradients must be contiguous CPU float32 tensors of "
                          "one shape, got " +
                          c10::str(p.sizes()) + " and " + c10::str(g.sizes()));
  }
}

torch::Tensor runClosure(const torch::optim::Optimizer::LossClosure& closure) {
  if (!closure) return {};
  torch::AutoGradMode enable_grad(true);
  return closure();
}

}  // namespace

std::string optimizerStateKey(const torch::Tensor& param) {
  return c10::guts::to_string(param.unsafeGetTensorImpl());
}

ReproducibleAdamW::ReproducibleAdamW(std::vector<torch::Tensor> params,
                                     torch::optim::AdamWOptions options)
    : torch::optim::AdamW(std::move(params), options) {
  if (options.amsgrad()) {
    throw InvalidArgument("ReproducibleAdamW: amsgrad is not supported");
  }
}

torch::Tensor ReproducibleAdamW::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss = runClosure(closure);
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    const AdamWOptions options{o.lr(), std::get<0>(o.betas()), std::get<1>(o.betas()), o.eps(),
                               o.weight_decay()};
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      requireParameter(p, p.grad(), "ReproducibleAdamW");
      auto& slot = state()[optimizerStateKey(p)];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p));
        fresh->exp_avg_sq(torch::zeros_like(p));
        slot = std::move(fresh);
      }
      auto& s = static_cast<torch::optim::AdamWParamState&>(*slot);
      s.step(s.step() + 1);
      adamwUpdate(p.data_ptr<float>(), p.grad().data_ptr<float>(), s.exp_avg().data_ptr<float>(),
                  s.exp_avg_sq().data_ptr<float>(), p.numel(), s.step(), options);
    }
  }
  return loss;
}

ReproducibleSgd::ReproducibleSgd(std::vector<torch::Tensor> params,
                                 torch::optim::SGDOptions options)
    : torch::optim::SGD(std::move(params), options) {}

torch::Tensor ReproducibleSgd::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss = runClosure(closure);
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const torch::optim::SGDOptions&>(group.options());
    const SgdOptions options{o.lr(), o.momentum(), o.dampening(), o.weight_decay(), o.nesterov()};
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      requireParameter(p, p.grad(), "ReproducibleSgd");
      float* buffer = nullptr;
      bool first = false;
      if (options.momentum != 0) {
        auto& slot = state()[optimizerStateKey(p)];
        first = !slot;
        if (first) {
          auto fresh = std::make_unique<torch::optim::SGDParamState>();
          fresh->momentum_buffer(torch::empty_like(p));
          slot = std::move(fresh);
        }
        buffer =
            static_cast<torch::optim::SGDParamState&>(*slot).momentum_buffer().data_ptr<float>();
      }
      sgdUpdate(p.data_ptr<float>(), p.grad().data_ptr<float>(), buffer, p.numel(), first, options);
    }
  }
  return loss;
}

}  // namespace mlcp::ops::nn
