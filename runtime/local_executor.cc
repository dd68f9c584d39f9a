#include "runtime/local_executor.h"

#include <fmt/format.h>

#include <chrono>

#include "runtime/job_setup.h"
#include "runtime/recompute.h"

namespace mlcp::runtime {

torch::Tensor computeMicroBatch(models::LayerModel& model, const data::Batch& batch, uint64_t seed,
                                int64_t step, int64_t micro_batch, const LossFunction& loss,
                                StepObserver& observer, bool recompute) {
  for (auto& p : model.parameters()) p.mutable_grad().reset();  // one gradient per micro-batch
  observer.microBatchData(micro_batch, batch);
  int span = observer.beginSpan(fmt::format("F{}", micro_batch), "forward", 0,
                                {{"micro_batch", micro_batch}});
  torch::Tensor h = batch.input;
  for (int64_t l = 0; l < model.numLayers(); ++l) {
    h = forwardLayer(model, l, h, {seed, step, micro_batch}, recompute);
    observer.layerOutput(micro_batch, l, h);
  }
  auto mean_loss = loss(h, batch.target);
  observer.endSpan(span);
  span = observer.beginSpan(fmt::format("B{}", micro_batch), "backward", 0,
                            {{"micro_batch", micro_batch}});
  mean_loss.backward();
  observer.endSpan(span);
  observer.microBatchDone(micro_batch, mean_loss, h);
  return mean_loss;
}

LocalExecutor::LocalExecutor(models::LayerModel& model, uint64_t seed, LossFunction loss)
    : model_(model), seed_(seed), loss_(std::move(loss)) {}

std::vector<std::optional<double>> LocalExecutor::runStep(const StepWork& work,
                                                          StepObserver& observer,
                                                          const collectives::CollectiveOptions&) {
  std::vector<std::optional<double>> losses;
  for (int64_t j = work.first; j < work.end; ++j) {
    const auto batch = work.batch(j);
    const auto start = std::chrono::steady_clock::now();
    const auto loss =
        computeMicroBatch(model_, batch, seed_, work.step, j, loss_, observer, recompute_);
    emulateSlowdown(slowdown_, start);
    losses.push_back(loss.item<double>());
    work.after_backward(j, 0);
  }
  return losses;
}

torch::Tensor LocalExecutor::evalForward(const torch::Tensor& input, int64_t,
                                         const collectives::CollectiveOptions&) {
  torch::NoGradGuard no_grad;
  return model_.forward(input);
}

}  // namespace mlcp::runtime
