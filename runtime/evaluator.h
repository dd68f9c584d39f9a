// Held-out evaluation of a training job, with the same bits on every placement: the held-out
// set is cut into logical evaluation batches of kEvalBatch samples (a constant of the program,
// never of the placement), data-parallel replica r scores an even share of them, each batch's
// loss sum and correct count travel in their own slots of one SUM allreduce (one writer per
// slot: adding zeros is exact), and every rank combines the slots in batch order.
#pragma once

#include <cstdint>

#include "collectives/communicator.h"
#include "data/dataset.h"
#include "models/layer_model.h"
#include "runtime/executor.h"
#include "runtime/placement.h"

namespace mlcp::runtime {

constexpr int64_t kEvalBatch = 500;

struct EvalResult {
  int64_t step = 0;
  double loss = 0;
  double accuracy = 0;  // classification: accuracy; language model: next-byte accuracy
  int64_t samples = 0;
};

// Collective over the world. `executor` runs the forward (through the pipeline when there is
// one); logits sharded by vocabulary over tp are gathered first.
EvalResult evaluate(int64_t step, const data::Dataset& eval, models::LayerModel& model,
                    StepExecutor& executor, const ProcessGroups& groups,
                    const partition::MeshShape& mesh, const collectives::CollectiveOptions& opts);

// Sums a vector in which every slot was written by exactly one rank (zeros elsewhere): the SUM
// allreduce is exact, so the result has the same bits on any placement.
std::vector<double> gatherSlots(collectives::Communicator& comm, std::vector<double> slots,
                                const collectives::CollectiveOptions& opts);

}  // namespace mlcp::runtime
