// What a job needs before anything is allocated: its parameter count from the model's shape
// alone, and the memory one rank holds for it — so `mlcp validate` and `mlcp run` refuse a job
// that cannot fit with one sentence, instead of failing inside an allocation.
#pragma once

#include <cstdint>
#include <string>

#include "jobs/job_spec.h"

namespace mlcp::jobs {

// Parameters of the model `spec` names with `num_classes` outputs (the vocabulary for a GPT);
// INT64_MAX when the count overflows; 0 for a registered kind (its builder knows:
// models::modelParameterCount).
int64_t parameterCount(const ModelSpec& spec, int64_t num_classes);

struct MemoryEstimate {
  int64_t parameters = 0;       // of the whole model
  int64_t bytes_per_rank = 0;   // INT64_MAX when it overflows
  int64_t optimizer_bytes = 0;  // of which the optimizer's state
  std::string breakdown;        // "N parameters x 4 bytes x (1 parameter + G gradients + ...)"
};

// The training state one rank of `world_size` holds: its share of the parameters (1/(pp*tp) of
// them), each kept as the parameter, one gradient per local micro-batch (the exact sum keeps
// each one), the optimizer's state (AdamW 2, SGD with momentum 1; divided over the dp replicas
// with parallel.shard_optimizer) and, with checkpoints, one snapshot copy. Activations depend on
// the layers and are estimated where they are known (runtime/placement.h). `parameters`: the
// model's parameter count when the caller knows it (a registered kind); -1 = parameterCount.
MemoryEstimate estimateMemory(const JobSpec& spec, int world_size, int64_t num_classes,
                              int64_t parameters = -1);

}  // namespace mlcp::jobs
