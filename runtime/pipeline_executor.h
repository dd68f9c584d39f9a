// Runs one rank's share of a pipeline-parallel training step: the ordered actions of its stage
// in a schedule (partition/schedule.h — GPipe, 1F1B or interleaved 1F1B), on the layers its
// chunks own, with non-blocking point-to-point transfers between stages; under the executor
// contract of runtime/executor.h, which LocalExecutor shares:
//  - A stage's forward runs exactly the layers LayerModel::forward would, one at a time, each
//    seeded from (seed, step, micro-batch, layer) and shown to the observer; the activation at a
//    stage boundary crosses as float32 bytes, unchanged.
//  - Its backward is autograd over the stage's own layers from the received output gradient:
//    the same kernels on the same values as a whole-model backward, so each micro-batch's
//    parameter gradients are bit for bit those of a one-process run.
//  - Before a chunk's backward of a micro-batch its parameters' .grad are cleared, and
//    `after_backward(j, chunk)` then reads them.
// Communication (the protocol checkSchedule proves deadlock-free): every receive of the step is
// posted before the first action, in the stage's action order (messages on one channel match in
// order); a receive action waits for its message; sends are posted (isend) and completed at the
// end of the step. Tags: kActivationTag, kGradientTag, kEvalTag on the pipeline communicator,
// whose rank is the stage index. The schedule's micro-batch m is logical micro-batch first + m.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "collectives/communicator.h"
#include "data/dataset.h"
#include "models/layer_model.h"
#include "partition/schedule.h"
#include "runtime/executor.h"

namespace mlcp::runtime {

struct StageLayout {
  int stage = 0;           // this rank's physical pipeline stage (its rank in the pipeline comm)
  int stages = 1;          // pp
  int virtual_stages = 1;  // model chunks per stage (interleaved)
  // Layers [first, end) of each chunk c, i.e. of virtual stage c * stages + stage.
  std::vector<std::pair<int64_t, int64_t>> chunks;

  bool isFirst(int chunk) const { return stage == 0 && chunk == 0; }
  bool isLast(int chunk) const { return stage == stages - 1 && chunk == virtual_stages - 1; }
};

// Per-sample shape of the activation entering each layer (index = layer; [L] = the logits).
struct ActivationShapes {
  std::vector<std::vector<int64_t>> per_sample;
};

// Shapes and dtypes from one forward of a real micro-batch (no gradient, evaluation mode);
// throws InvalidArgument when an activation between layers is not float32.
ActivationShapes probeActivationShapes(models::LayerModel& model,
                                       const torch::Tensor& sample_input);

class PipelineExecutor : public StepExecutor {
 public:
  static constexpr int kActivationTag = 0x5A10, kGradientTag = 0x5A11, kEvalTag = 0x5A12;

  // `pipeline` is the communicator of this replica's stages (rank = stage); borrowed, like
  // `model`. `schedule` covers this replica's share of micro-batches (local indices 0..m-1).
  PipelineExecutor(models::LayerModel& model, collectives::Communicator& pipeline,
                   StageLayout layout, ActivationShapes shapes, int64_t micro_batch_size,
                   partition::PipelineSchedule schedule, uint64_t seed, LossFunction loss);

  // Runs this stage's actions of the schedule for micro-batches [work.first, work.end). Every
  // action is shown to the observer as a span (lane = chunk; a receive's span is the time spent
  // waiting for its message).
  std::vector<std::optional<double>> runStep(const StepWork& work, StepObserver& observer,
                                             const collectives::CollectiveOptions& opts) override;
  // Forward through every virtual stage in order; `input` is used on the first stage. Returns
  // the logits on the last stage and an undefined tensor elsewhere.
  torch::Tensor evalForward(const torch::Tensor& input, int64_t batch_size,
                            const collectives::CollectiveOptions& opts) override;

  const StageLayout& layout() const { return layout_; }

 private:
  std::vector<int64_t> shapeOf(int64_t layer, int64_t batch) const;

  models::LayerModel& model_;
  collectives::Communicator& comm_;
  StageLayout layout_;
  ActivationShapes shapes_;
  int64_t micro_batch_size_;
  partition::PipelineSchedule schedule_;
  uint64_t seed_;
  LossFunction loss_;
  std::vector<std::vector<torch::Tensor>> chunk_params_;
};

}  // namespace mlcp::runtime
