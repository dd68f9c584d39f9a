// Records the operators of one training step into an OperatorTrace (runtime/operator_trace.h),
// in the fixed order that header lists, as a StepObserver: the dispute protocol's re-execution
// of a step. One process only (the trace names every parameter and micro-batch of the step).
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/model_state.h"
#include "runtime/operator_trace.h"
#include "runtime/step_observer.h"

namespace mlcp::runtime {

class OperatorTraceObserver : public StepObserver {
 public:
  // Records step `traced_step` (1-based, as progress prints it) into `trace`; both borrowed.
  OperatorTraceObserver(OperatorTrace& trace, int64_t traced_step, ModelState& state);

  void stepBegin(int64_t step) override;
  void microBatchData(int64_t micro_batch, const data::Batch& batch) override;
  void layerOutput(int64_t micro_batch, int64_t layer, torch::Tensor& output) override;
  void microBatchDone(int64_t micro_batch, const torch::Tensor& loss,
                      const torch::Tensor& logits) override;
  void gradientsReduced() override;
  void gradientsClipped() override;
  void updated(int64_t step) override;

 private:
  OperatorTrace& trace_;
  int64_t traced_step_;
  ModelState& state_;
  std::vector<std::vector<size_t>> layer_params_;
  bool active_ = false;                 // this step is the traced one
  std::vector<torch::Tensor> outputs_;  // each layer's output of the current micro-batch
};

}  // namespace mlcp::runtime
