// The step's exact mean gradient (step 3 of runtime/trainer.h): each local micro-batch's
// gradient is kept as its contribution — the .grad tensors its backward produced, taken over,
// never copied — and the contributions of all M micro-batches are summed over the data-parallel
// group with collectives::ExactSum, scaled by 1/M, straight into the owned parameters' .grad:
// identical bits on every rank and every placement.
//
// Streaming: without a pipeline, each micro-batch but the last is handed to ExactSum::add as
// soon as its backward is done, so on one rank its quantising runs on a helper thread during the
// next micro-batch; reduce(streaming = true) then passes the last. A pipeline finishes its
// micro-batches out of order and uses reduce(streaming = false).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "collectives/communicator.h"
#include "collectives/exact_sum.h"
#include "runtime/model_state.h"

namespace mlcp::runtime {

class MeanGradient {
 public:
  // This replica's logical micro-batches are [first, end); `state` and `dp` are borrowed.
  MeanGradient(ModelState& state, collectives::Communicator& dp, int64_t first, int64_t end);

  // This step's micro-batches here (a contribution slot each, in this order), instead of
  // [first, end): what the volunteers' share left this rank, or rank 0's with the units given up.
  void setUnits(std::vector<int64_t> units);
  // Takes over the .grad of owned parameters `which` (indices into state.owned()) as micro-batch
  // j's contribution; a parameter without a gradient contributes zeros.
  void keep(int64_t j, const std::vector<int64_t>& which);
  // Takes `grads` — one contiguous float32 tensor per owned parameter, in owned() order — as
  // micro-batch j's contribution: a volunteer's (runtime/volunteer_coordinator.h). Replaces
  // whatever j had (a banned volunteer's unit is replaced by the recomputation the same way).
  void keepTensors(int64_t j, std::vector<torch::Tensor> grads);
  // Hands micro-batch j's (complete) contribution to the exact sum now.
  void stream(int64_t j);
  // Collective over the data-parallel group: the mean over all `total` micro-batches into the
  // owned parameters' .grad. `streaming`: every local micro-batch but the last was stream()ed
  // (the last of units(), in their order).
  // Returns false (on every rank of the group) when a contribution is not finite.
  bool reduce(int64_t total, bool streaming, const collectives::CollectiveOptions& opts);

 private:
  std::vector<const float*> pointers(int64_t j);
  std::vector<torch::Tensor>& slot(int64_t j);

  ModelState& state_;
  std::vector<int64_t> units_;  // this step's micro-batches, in slot order
  // [slot][owned parameter]. Declared before the sum, whose helper thread may still
  // read them while it is destroyed.
  std::vector<std::vector<torch::Tensor>> kept_;
  collectives::ExactSum sum_;
};

}  // namespace mlcp::runtime
