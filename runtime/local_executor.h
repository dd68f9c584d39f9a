// The step executor of a rank that holds the whole model (pp = 1), under the contract of
// runtime/executor.h. Its core, computeMicroBatch — "compute logical micro-batch j of step s
// from this state and leave its gradient in .grad" — needs no communicator at tp = 1: a
// volunteer outside MPI runs exactly this function.
#pragma once

#include "models/layer_model.h"
#include "runtime/executor.h"

namespace mlcp::runtime {

// One logical micro-batch: clears the model's gradients, runs each layer seeded with
// (seed, step, micro_batch, layer) and shows its output to `observer`, takes `loss` of the
// logits, and runs the backward. The parameters' .grad then hold the micro-batch's gradient.
// `recompute`: activation recomputation (runtime/recompute.h). Returns the loss (a scalar
// tensor).
torch::Tensor computeMicroBatch(models::LayerModel& model, const data::Batch& batch, uint64_t seed,
                                int64_t step, int64_t micro_batch, const LossFunction& loss,
                                StepObserver& observer, bool recompute = false);

class LocalExecutor : public StepExecutor {
 public:
  // `model` is borrowed.
  LocalExecutor(models::LayerModel& model, uint64_t seed, LossFunction loss);

  std::vector<std::optional<double>> runStep(const StepWork& work, StepObserver& observer,
                                             const collectives::CollectiveOptions& opts) override;
  torch::Tensor evalForward(const torch::Tensor& input, int64_t batch_size,
                            const collectives::CollectiveOptions& opts) override;

 private:
  models::LayerModel& model_;
  uint64_t seed_;
  LossFunction loss_;
};

}  // namespace mlcp::runtime
