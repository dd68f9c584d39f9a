// How a rank runs its share of one training step's logical micro-batches. Two executors
// implement it — LocalExecutor (the whole model on this rank, pp = 1) and PipelineExecutor (this
// rank's stage of a pipeline) — under one contract, which keeps the step's result a function of
// the logical program alone:
//  - Layer l of logical micro-batch j at step s runs with LibTorch's generator seeded from
//    (seed, s, j, l) (seedLayer), through exactly the kernels LayerModel::forward runs; each
//    layer's output is shown to the observer (StepObserver::layerOutput) before the next layer.
//  - Before a micro-batch's backward over a model chunk the chunk's parameters have no .grad;
//    after it `after_backward(j, chunk)` reads them: one gradient per micro-batch and parameter,
//    never an accumulation across micro-batches (the exact reduction needs each one).
//  - runStep returns micro-batch j's loss at index j - first wherever its last layer ran (and
//    nothing elsewhere).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "collectives/communicator.h"
#include "data/dataset.h"
#include "runtime/step_observer.h"

namespace mlcp::runtime {

using LossFunction =
    std::function<torch::Tensor(const torch::Tensor& logits, const torch::Tensor& target)>;

struct StepWork {
  int64_t step = 0;            // 0-based
  int64_t first = 0, end = 0;  // this replica's logical micro-batches [first, end)
  std::function<data::Batch(int64_t micro_batch)> batch;
  std::function<void(int64_t micro_batch, int chunk)> after_backward;
};

class StepExecutor {
 public:
  virtual ~StepExecutor() = default;
  virtual std::vector<std::optional<double>> runStep(
      const StepWork& work, StepObserver& observer, const collectives::CollectiveOptions& opts) = 0;
  // Forward only (evaluation mode, no gradient) of one batch of `batch_size` samples through the
  // whole model; returns the logits where the last layer ran, an undefined tensor elsewhere.
  virtual torch::Tensor evalForward(const torch::Tensor& input, int64_t batch_size,
                                    const collectives::CollectiveOptions& opts) = 0;
  // A declared device slowdown (DEVICES.toml): every forward and backward takes this many
  // times as long.
  void setSlowdown(double slowdown) { slowdown_ = slowdown; }
  // Activation recomputation (the job's runtime.recompute): layers keep only their inputs in the
  // forward and are recomputed in the backward (runtime/recompute.h). Same bits either way.
  void setRecompute(bool recompute) { recompute_ = recompute; }

 protected:
  double slowdown_ = 1.0;
  bool recompute_ = false;
};

}  // namespace mlcp::runtime
