#include "runtime/operator_trace_observer.h"

#include <fmt/format.h>

namespace mlcp::runtime {

OperatorTraceObserver::OperatorTraceObserver(OperatorTrace& trace, int64_t traced_step,
                                             ModelState& state)
    : trace_(trace),
      traced_step_(traced_step),
      state_(state),
      layer_params_(state.paramsByLayer()) {}

void OperatorTraceObserver::stepBegin(int64_t step) {
  active_ = step + 1 == traced_step_;
  if (!active_) return;
  trace_.setStep(step + 1);
  trace_.record({OperatorKind::kState},
                collectTrainingState(state_.owned(), state_.optimizer(), step));
}

void OperatorTraceObserver::microBatchData(int64_t micro_batch, const data::Batch& batch) {
  if (!active_) return;
  outputs_.clear();
  trace_.record({OperatorKind::kData, micro_batch},
                {{"input", batch.input}, {"target", batch.target}});
}

void OperatorTraceObserver::layerOutput(int64_t micro_batch, int64_t layer, torch::Tensor& output) {
  if (!active_) return;
  if (output.requires_grad()) output.retain_grad();
  outputs_.push_back(output);
  trace_.record({OperatorKind::kForward, micro_batch, layer}, {{"output", output}});
}

void OperatorTraceObserver::microBatchDone(int64_t micro_batch, const torch::Tensor& loss,
                                           const torch::Tensor& logits) {
  if (!active_) return;
  trace_.record({OperatorKind::kLoss, micro_batch},
                {{"loss", loss}, {"grad_logits", logits.grad()}});
  const auto& params = state_.params();
  for (int64_t l = static_cast<int64_t>(outputs_.size()) - 1; l >= 0; --l) {
    std::vector<NamedTensor> grads;
    if (l > 0 && outputs_[static_cast<size_t>(l - 1)].requires_grad()) {
      grads.push_back({"grad_input", outputs_[static_cast<size_t>(l - 1)].grad()});
    }
    for (size_t i : layer_params_[static_cast<size_t>(l)]) {
      grads.push_back({"grad/" + params[i].first, params[i].second.grad()});
    }
    trace_.record({OperatorKind::kBackward, micro_batch, l}, grads);
  }
}

void OperatorTraceObserver::gradientsReduced() {
  if (!active_) return;
  const auto& params = state_.params();
  for (size_t l = 0; l < layer_params_.size(); ++l) {
    std::vector<NamedTensor> mean;
    for (size_t i : layer_params_[l])
      mean.push_back({"mean_grad/" + params[i].first, params[i].second.grad()});
    trace_.record({OperatorKind::kReduce, -1, static_cast<int64_t>(l)}, mean);
  }
}

void OperatorTraceObserver::gradientsClipped() {
  if (!active_) return;
  std::vector<NamedTensor> clipped;
  for (const auto& p : state_.params()) clipped.push_back({"grad/" + p.first, p.second.grad()});
  trace_.record({OperatorKind::kClip}, clipped);
}

void OperatorTraceObserver::updated(int64_t step) {
  if (!active_) return;
  const auto after = collectTrainingState(state_.owned(), state_.optimizer(), step);
  for (size_t l = 0; l < layer_params_.size(); ++l) {
    const std::string p = fmt::format("params/layers.{}.", l),
                      o = fmt::format("optim/layers.{}.", l);
    std::vector<NamedTensor> updated;
    for (const auto& t : after) {
      if (t.name.rfind(p, 0) == 0 || t.name.rfind(o, 0) == 0) updated.push_back(t);
    }
    trace_.record({OperatorKind::kUpdate, -1, static_cast<int64_t>(l)}, updated);
  }
}

}  // namespace mlcp::runtime
