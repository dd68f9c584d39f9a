#include "runtime/step_observer.h"

#include <fmt/format.h>

namespace mlcp::runtime {

void ObserverList::stepBegin(int64_t step) {
  for (auto* o : observers_) o->stepBegin(step);
}

void ObserverList::microBatchData(int64_t micro_batch, const data::Batch& batch) {
  for (auto* o : observers_) o->microBatchData(micro_batch, batch);
}

void ObserverList::layerOutput(int64_t micro_batch, int64_t layer, torch::Tensor& output) {
  for (auto* o : observers_) o->layerOutput(micro_batch, layer, output);
}

void ObserverList::microBatchDone(int64_t micro_batch, const torch::Tensor& loss,
                                  const torch::Tensor& logits) {
  for (auto* o : observers_) o->microBatchDone(micro_batch, loss, logits);
}

void ObserverList::gradientsReduced() {
  for (auto* o : observers_) o->gradientsReduced();
}

void ObserverList::gradientsClipped() {
  for (auto* o : observers_) o->gradientsClipped();
}

void ObserverList::updated(int64_t step) {
  for (auto* o : observers_) o->updated(step);
}

int ObserverList::beginSpan(const std::string& name, const std::string& category, int lane,
                            nlohmann::json args) {
  if (observers_.empty()) return -1;
  std::vector<int> tokens;
  bool recorded = false;
  for (auto* o : observers_) {
    tokens.push_back(o->beginSpan(name, category, lane, args));
    recorded = recorded || tokens.back() >= 0;
  }
  if (!recorded) return -1;
  spans_.push_back(std::move(tokens));
  return static_cast<int>(spans_.size()) - 1;
}

void ObserverList::endSpan(int token) {
  if (token < 0) return;
  const auto& tokens = spans_.at(static_cast<size_t>(token));
  for (size_t i = 0; i < observers_.size(); ++i) observers_[i]->endSpan(tokens[i]);
}

TimelineObserver::TimelineObserver(partition::TraceRecorder& recorder, int rank, int replica,
                                   int stage, int chunks, bool pipeline)
    : recorder_(recorder) {
  recorder_.nameProcess(rank, fmt::format("rank {} (replica {}, stage {})", rank, replica, stage));
  recorder_.nameThread(rank, 0, pipeline ? "chunk 0" : "micro-batches");
  for (int c = 1; c < chunks && pipeline; ++c) {
    recorder_.nameThread(rank, c, fmt::format("chunk {}", c));
  }
  recorder_.nameThread(rank, kStepLane, "reduce / update / checkpoint");
}

int TimelineObserver::beginSpan(const std::string& name, const std::string& category, int lane,
                                nlohmann::json args) {
  return recorder_.begin(name, category, lane, std::move(args));
}

void TimelineObserver::endSpan(int token) {
  if (token >= 0) recorder_.end(token);
}

void FaultObserver::layerOutput(int64_t micro_batch, int64_t layer, torch::Tensor& output) {
  if (step_ + 1 != fault_.step || micro_batch != micro_batch_ || layer != fault_.layer) return;
  auto bump = torch::zeros_like(output);
  bump.view({-1})[0] = 1.0;
  output = output + bump;
}

}  // namespace mlcp::runtime
