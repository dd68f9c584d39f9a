// Running one layer of a micro-batch, with or without activation recomputation.
//
// Every layer of logical micro-batch j of step s runs after LibTorch's CPU generator is seeded
// with (seed, s, j, l) (seedLayer), so its dropout masks are a function of the logical
// coordinates. With recomputation (the job's runtime.recompute; Chen et al. 2016, Megatron's
// "full" recomputation per layer) the forward keeps no graph inside the layer — only its input —
// and the backward seeds the generator again, recomputes the layer with a graph and
// backpropagates through it. The recomputed forward runs the same operators on the same input
// with the same masks, so it produces the same bits, and so do the gradients: recomputation
// trades compute for memory and never changes a result. Activation memory per micro-batch drops
// from every layer's intermediates to the layers' inputs plus one layer's intermediates.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "models/layer_model.h"

namespace mlcp::runtime {

// Where a layer runs in the logical program.
struct LayerCoordinates {
  uint64_t seed = 0;
  int64_t step = 0;
  int64_t micro_batch = 0;
};

// Layer `layer` of `model` on `x`, seeded for `at`; recomputed in the backward when `recompute`.
// The model must outlive the backward.
torch::Tensor forwardLayer(models::LayerModel& model, int64_t layer, const torch::Tensor& x,
                           const LayerCoordinates& at, bool recompute);

}  // namespace mlcp::runtime
