// Runs one rank's share of a pipeline-parallel training step: the ordered actions of its stage
// in a schedule (partition/schedule.h — GPipe, 1F1B or interleaved 1F1B), on the layers its
// chunks own, with non-blocking point-to-point transfers between stages.
//
// Contract with the trainer (runtime/trainer.h), which keeps the data-parallel result bitwise:
//  - A stage's forward runs exactly the layers LayerModel::forward would, one at a time, with
//    `before_layer` (seeding) and `after_layer` (a planted fault) around each; the activation at
//    a stage boundary crosses as float32 bytes, unchanged.
//  - Its backward is autograd over the stage's own layers from the received output gradient:
//    the same kernels on the same values as a whole-model backward, so each micro-batch's
//    parameter gradients are bit for bit those of a one-process run.
//  - Before a chunk's backward of a micro-batch its parameters' .grad are cleared, and
//    `after_backward(mb, chunk)` then reads them: one gradient per micro-batch and parameter,
//    never an accumulation across micro-batches (the exact reduction needs each one).
// Communication (the protocol checkSchedule proves deadlock-free): every receive of the step is
// posted before the first action, in the stage's action order (messages on one channel match in
// order); a receive action waits for its message; sends are posted (isend) and completed at the
// end of the step. Tags: kActivationTag, kGradientTag, kEvalTag on the pipeline communicator,
// whose rank is the stage index.
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
#include "partition/trace.h"

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
ActivationShapes probeActivationShapes(models::LayerModel& model, const torch::Tensor& sample_input);

struct PipelineCallbacks {
  std::function<data::Batch(int mb)> batch;                // a local micro-batch's data
  std::function<void(int mb, int64_t layer)> before_layer;  // e.g. seed the generator
  std::function<void(int mb, int64_t layer, torch::Tensor& output)> after_layer;  // may be empty
  std::function<void(int mb, int chunk)> after_backward;    // the chunk's .grad are mb's
};

class PipelineExecutor {
 public:
  static constexpr int kActivationTag = 0x5A10, kGradientTag = 0x5A11, kEvalTag = 0x5A12;

  // `pipeline` is the communicator of this replica's stages (rank = stage); borrowed.
  PipelineExecutor(models::LayerModel& model, collectives::Communicator& pipeline,
                   StageLayout layout, ActivationShapes shapes, int64_t micro_batch_size);

  // Runs this stage's actions of `schedule` (local micro-batch indices 0..m-1). Returns the
  // loss of every micro-batch whose last virtual stage is here (empty for the others).
  // With `timeline`, every action is recorded as a span (lane = chunk; a receive's span is
  // the time spent waiting for its message).
  std::vector<std::optional<double>> runStep(const partition::PipelineSchedule& schedule,
                                             const PipelineCallbacks& callbacks,
                                             const collectives::CollectiveOptions& opts,
                                             partition::TraceRecorder* timeline = nullptr);

  // Forward only (evaluation, no gradient) of one batch of `batch_size` samples through every
  // virtual stage in order; `input` is used on the first stage. Returns the logits on the last
  // stage and an undefined tensor elsewhere.
  torch::Tensor evalForward(const torch::Tensor& input, int64_t batch_size,
                            const collectives::CollectiveOptions& opts);

  const StageLayout& layout() const { return layout_; }
  // A declared device slowdown: every forward and backward takes this many times as long.
  void setSlowdown(double slowdown) { slowdown_ = slowdown; }
  // The last stage's loss of a micro-batch (default LayerModel::loss; vocabulary-parallel
  // cross-entropy under tensor parallelism).
  void setLoss(std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)> loss) {
    loss_ = std::move(loss);
  }

 private:
  std::vector<int64_t> shapeOf(int64_t layer, int64_t batch) const;

  models::LayerModel& model_;
  collectives::Communicator& comm_;
  StageLayout layout_;
  ActivationShapes shapes_;
  int64_t micro_batch_size_;
  double slowdown_ = 1.0;
  std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)> loss_ = models::LayerModel::loss;
  std::vector<std::vector<torch::Tensor>> chunk_params_;
};

}  // namespace mlcp::runtime
