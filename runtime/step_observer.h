// What watches a training step without changing its logical program: the operator trace of the
// dispute protocol (runtime/operator_trace.h), a rank's timeline (`mlcp run --timeline`) and the
// planted fault of a faulty-solver demo all see the step through this one interface, so the
// executors and the trainer call hooks instead of carrying each feature's branches.
//
// Call order within one step (every hook may be left as the no-op default):
//   stepBegin(step)
//   per micro-batch j the executor runs:  microBatchData(j) -> layerOutput(j, l) for each layer
//     it runs -> microBatchDone(j, loss, logits) after the backward (local executor only)
//   gradientsReduced() -> gradientsClipped() (when clipping) -> updated(step + 1)
// beginSpan/endSpan bracket timed work on a lane (a pipeline chunk, or kStepLane for the
// reduction, update and checkpoints) whenever it happens.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "partition/trace.h"

namespace mlcp::runtime {

class StepObserver {
 public:
  // The timeline lane of the step's own work (reduction, update, checkpoints); lanes 0.. are the
  // model chunks.
  static constexpr int kStepLane = 100;

  virtual ~StepObserver() = default;

  // `step` is 0-based (progress prints step + 1).
  virtual void stepBegin(int64_t step) {}
  virtual void microBatchData(int64_t micro_batch, const data::Batch& batch) {}
  // Layer `layer`'s output on logical micro-batch `micro_batch`, right after its forward. An
  // observer may replace it (the planted fault does); later observers see the replacement.
  virtual void layerOutput(int64_t micro_batch, int64_t layer, torch::Tensor& output) {}
  // After the micro-batch's backward: its mean loss and the logits it was computed from.
  virtual void microBatchDone(int64_t micro_batch, const torch::Tensor& loss,
                              const torch::Tensor& logits) {}
  // The .grad of every parameter this rank holds is the step's exact mean gradient.
  virtual void gradientsReduced() {}
  // ... after global-norm clipping.
  virtual void gradientsClipped() {}
  // The optimizer update is done; `step` is the number of steps completed.
  virtual void updated(int64_t step) {}

  // A timed span on `lane`; returns a token for endSpan (-1: not recorded).
  virtual int beginSpan(const std::string& name, const std::string& category, int lane,
                        nlohmann::json args = nlohmann::json::object()) {
    return -1;
  }
  virtual void endSpan(int token) {}
};

// Forwards every hook to each observer in the order they were added (a replaced layer output is
// passed on to the next).
class ObserverList : public StepObserver {
 public:
  void add(StepObserver* observer) { observers_.push_back(observer); }
  bool empty() const { return observers_.empty(); }

  void stepBegin(int64_t step) override;
  void microBatchData(int64_t micro_batch, const data::Batch& batch) override;
  void layerOutput(int64_t micro_batch, int64_t layer, torch::Tensor& output) override;
  void microBatchDone(int64_t micro_batch, const torch::Tensor& loss,
                      const torch::Tensor& logits) override;
  void gradientsReduced() override;
  void gradientsClipped() override;
  void updated(int64_t step) override;
  int beginSpan(const std::string& name, const std::string& category, int lane,
                nlohmann::json args = nlohmann::json::object()) override;
  void endSpan(int token) override;

 private:
  std::vector<StepObserver*> observers_;
  std::vector<std::vector<int>> spans_;  // [token] -> each observer's own token
};

// Ends a span when it goes out of scope (a no-op for token -1).
class ScopedSpan {
 public:
  ScopedSpan(StepObserver& observer, const std::string& name, const std::string& category, int lane,
             nlohmann::json args = nlohmann::json::object())
      : observer_(observer), token_(observer.beginSpan(name, category, lane, std::move(args))) {}
  ~ScopedSpan() { observer_.endSpan(token_); }
  ScopedSpan(const ScopedSpan&) = delete;
  ScopedSpan& operator=(const ScopedSpan&) = delete;

 private:
  StepObserver& observer_;
  int token_;
};

// This rank's timeline (`mlcp run --timeline`): every span as a Chrome-trace event in a
// partition::TraceRecorder (borrowed).
class TimelineObserver : public StepObserver {
 public:
  TimelineObserver(partition::TraceRecorder& recorder, int rank, int replica, int stage, int chunks,
                   bool pipeline);
  int beginSpan(const std::string& name, const std::string& category, int lane,
                nlohmann::json args = nlohmann::json::object()) override;
  void endSpan(int token) override;

 private:
  partition::TraceRecorder& recorder_;
};

// The "faulty solver" switch, for tests and demos of verification: at step `step` (1-based, as
// progress prints it) the logical micro-batch `micro_batch` gets 1.0 added to the first element
// of layer `layer`'s forward output — a planted, deterministic error that replay and the
// dispute protocol must locate. Inactive when step <= 0.
struct PlantedFault {
  int64_t step = 0;
  int64_t layer = 0;
  int rank = 0;
  // >= 0: the logical micro-batch to corrupt, whatever rank runs it (a dispute's re-execution
  // of a faulty run reproduces its fault on any placement); -1: rank `rank`'s first one. A run
  // records the micro-batch it resolved in its "fault" metrics record.
  int64_t micro_batch = -1;
  bool active() const { return step > 0; }
};

class FaultObserver : public StepObserver {
 public:
  // `micro_batch`: the logical micro-batch the fault resolved to.
  FaultObserver(const PlantedFault& fault, int64_t micro_batch)
      : fault_(fault), micro_batch_(micro_batch) {}
  void stepBegin(int64_t step) override { step_ = step; }
  void layerOutput(int64_t micro_batch, int64_t layer, torch::Tensor& output) override;

 private:
  PlantedFault fault_;
  int64_t micro_batch_;
  int64_t step_ = -1;
};

}  // namespace mlcp::runtime
