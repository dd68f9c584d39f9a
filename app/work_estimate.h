// What a training job costs in work, from its model's per-layer costs (models::LayerCost: the
// partitioner's cost model) — printed by `mlcp plan` and priced by `mlcp bridge job create`
// (docs/bridge-client.md, "Work estimate and price"). An estimate of the LOGICAL program: it does
// not depend on the placement (except the gradient exchange, which is per data-parallel rank).
//
// Per step of B samples in M micro-batches, P parameters, A activation bytes kept per sample:
//   forward FLOPs    = B x sum(flops_fwd)
//   backward FLOPs   = B x sum(flops_bwd)                    (about 2 x forward)
//   optimizer FLOPs  = P x c, c = 13 (AdamW: moments, bias-corrected step, decay), 5 (SGD with
//                      momentum), 3 (plain SGD); plus P x M for the exact sum of M gradients
//   memory traffic   = M x 4P x (2 reads of the parameters + 1 gradient write + 5 for the exact
//                      sum's int64 accumulation) + 2 x B x A (activations written, read back)
//                      + 4P x (3 for the sum's conversion back + 7 AdamW / 5 / 3 optimizer)
//   gradient exchange per data-parallel rank (dp > 1): (8 + 4) x P x (dp-1)/dp bytes sent
//                      (int64 reduce-scatter, float32 all-gather)
// The market unit is one GFLOP: a checkpoint interval of S steps is ceil(S x total / 1e9) units.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jobs/job_spec.h"
#include "models/layer_model.h"

namespace mlcp::app {

struct StepWork {
  double forward_flops = 0, backward_flops = 0, optimizer_flops = 0;
  double memory_bytes = 0;  // memory traffic of one step (the model above)
  int64_t parameters = 0;
  double totalFlops() const { return forward_flops + backward_flops + optimizer_flops; }
  // Bytes each data-parallel rank sends in the exact gradient sum on `dp` ranks.
  double exchangeBytesPerRank(int64_t dp) const;
};

StepWork estimateStepWork(const jobs::JobSpec& spec, const std::vector<models::LayerCost>& layers,
                          int64_t parameters);
// The job's model (built from the seed, as `mlcp plan` does) and its step work.
StepWork estimateStepWork(const jobs::JobSpec& spec);

// The market's unitsPerCheckpoint: GFLOP of `steps_per_checkpoint` steps, rounded up (>= 1).
uint64_t unitsPerCheckpoint(const StepWork& w, int64_t steps_per_checkpoint);

// "1.23 GFLOP", "4.5 TFLOP"; "12.3 MB", "4.0 GB".
std::string formatFlops(double flops);
std::string formatBytes(double bytes);

}  // namespace mlcp::app
