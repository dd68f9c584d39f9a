#include "runtime/evaluator.h"

#include <algorithm>

#include "models/tensor_parallel.h"

namespace mlcp::runtime {

std::vector<double> gatherSlots(collectives::Communicator& comm, std::vector<double> slots,
                                const collectives::CollectiveOptions& opts) {
  comm.allreduce(slots.data(), static_cast<int64_t>(slots.size()), collectives::DataType::kFloat64,
                 collectives::ReduceOp::kSum, opts);
  return slots;
}

EvalResult evaluate(int64_t step, const data::Dataset& eval, models::LayerModel& model,
                    StepExecutor& executor, const ProcessGroups& groups,
                    const partition::MeshShape& mesh, const collectives::CollectiveOptions& opts) {
  EvalResult r;
  r.step = step;
  const int64_t n = eval.size();
  const int64_t batches = (n + kEvalBatch - 1) / kEvalBatch;
  const auto [begin, end] = evenRange(batches, groups.coord.dp, mesh.dp);
  // Slot layout: [loss sum of batch i | correct count of batch i].
  std::vector<double> slots(static_cast<size_t>(2 * batches), 0.0);
  model.eval();
  {
    torch::NoGradGuard no_grad;
    for (int64_t b = begin; b < end; ++b) {
      std::vector<int64_t> idx;
      for (int64_t i = b * kEvalBatch; i < std::min(n, (b + 1) * kEvalBatch); ++i) idx.push_back(i);
      const auto batch = eval.batch(idx);
      auto logits = executor.evalForward(batch.input, static_cast<int64_t>(idx.size()), opts);
      if (!logits.defined()) continue;  // not the last pipeline stage
      if (groups.tp != nullptr) logits = models::allgatherLastDim(logits, *groups.tp);
      if (groups.coord.tp != 0) continue;  // one writer per slot
      auto flat = logits.reshape({-1, logits.size(-1)});
      auto target = batch.target.reshape({-1});
      slots[static_cast<size_t>(b)] = model.ops().crossEntropySum(flat, target);
      slots[static_cast<size_t>(batches + b)] =
          static_cast<double>(flat.argmax(-1).eq(target).sum().item<int64_t>());
    }
  }
  model.train();
  slots = gatherSlots(*groups.world, std::move(slots), opts);
  double loss_sum = 0, correct = 0;
  for (int64_t b = 0; b < batches; ++b) {
    loss_sum += slots[static_cast<size_t>(b)];
    correct += slots[static_cast<size_t>(batches + b)];
  }
  // Predictions per sample: 1 for a classifier, context positions for a language model.
  const int64_t per_sample = eval.batch({0}).target.numel();
  r.samples = n;
  r.loss = loss_sum / static_cast<double>(n * per_sample);
  r.accuracy = correct / static_cast<double>(n * per_sample);
  return r;
}

}  // namespace mlcp::runtime
