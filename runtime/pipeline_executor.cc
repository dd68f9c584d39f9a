#include "runtime/pipeline_executor.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <map>

#include "base/error.h"
#include "runtime/job_setup.h"
#include "runtime/recompute.h"

namespace mlcp::runtime {

using collectives::DataType;
using partition::ActionKind;

ActivationShapes probeActivationShapes(models::LayerModel& model,
                                       const torch::Tensor& sample_input) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  ActivationShapes shapes;
  torch::Tensor h = sample_input;
  for (int64_t l = 0; l <= model.numLayers(); ++l) {
    if (l > 0 && h.scalar_type() != torch::kFloat32) {
      throw InvalidArgument(
          fmt::format("the activation entering layer {} is {}, not float32: a "
                      "pipeline stage cannot start there",
                      l, c10::toString(h.scalar_type())));
    }
    shapes.per_sample.emplace_back(h.sizes().begin() + 1, h.sizes().end());
    if (l < model.numLayers()) h = model.forward(h, l, l + 1);
  }
  if (was_training) model.train();
  return shapes;
}

PipelineExecutor::PipelineExecutor(models::LayerModel& model, collectives::Communicator& pipeline,
                                   StageLayout layout, ActivationShapes shapes,
                                   int64_t micro_batch_size, partition::PipelineSchedule schedule,
                                   uint64_t seed, LossFunction loss)
    : model_(model),
      comm_(pipeline),
      layout_(std::move(layout)),
      shapes_(std::move(shapes)),
      micro_batch_size_(micro_batch_size),
      schedule_(std::move(schedule)),
      seed_(seed),
      loss_(std::move(loss)) {
  require(comm_.size() == layout_.stages && comm_.rank() == layout_.stage,
          "the pipeline communicator's rank must be the stage index");
  for (const auto& [first, end] : layout_.chunks) {
    std::vector<torch::Tensor> params;
    for (int64_t l = first; l < end; ++l) {
      for (const auto& p : model_.layer(l).parameters()) params.push_back(p);
    }
    chunk_params_.push_back(std::move(params));
  }
}

std::vector<int64_t> PipelineExecutor::shapeOf(int64_t layer, int64_t batch) const {
  std::vector<int64_t> shape{batch};
  const auto& s = shapes_.per_sample.at(static_cast<size_t>(layer));
  shape.insert(shape.end(), s.begin(), s.end());
  return shape;
}

std::vector<std::optional<double>> PipelineExecutor::runStep(
    const StepWork& work, StepObserver& observer, const collectives::CollectiveOptions& opts) {
  require(work.end - work.first == schedule_.micro_batches,
          fmt::format("PipelineExecutor: the schedule covers {} micro-batches, the step {}",
                      schedule_.micro_batches, work.end - work.first));
  const auto& actions = schedule_.actions.at(static_cast<size_t>(layout_.stage));
  std::vector<std::optional<double>> losses(static_cast<size_t>(schedule_.micro_batches));
  using Key = std::pair<int, int>;  // (micro-batch, chunk)
  struct Slot {
    torch::Tensor input, output, loss;
    torch::Tensor activation_buffer, gradient_buffer;
    std::unique_ptr<collectives::Work> activation_recv, gradient_recv;
  };
  std::map<Key, Slot> slots;
  std::map<int, data::Batch> batches;
  auto batchOf = [&](int mb) -> const data::Batch& {
    auto it = batches.find(mb);
    if (it == batches.end()) it = batches.emplace(mb, work.batch(work.first + mb)).first;
    return it->second;
  };
  // Post every receive of the step, in action order.
  for (const auto& a : actions) {
    if (a.kind != ActionKind::kRecvActivation && a.kind != ActionKind::kRecvGrad) continue;
    Slot& slot = slots[{a.micro_batch, a.chunk}];
    const auto& [first, end] = layout_.chunks.at(static_cast<size_t>(a.chunk));
    if (a.kind == ActionKind::kRecvActivation) {
      slot.activation_buffer = torch::empty(shapeOf(first, micro_batch_size_), torch::kFloat32);
      slot.activation_recv =
          comm_.irecv(slot.activation_buffer.data_ptr(), slot.activation_buffer.numel(),
                      DataType::kFloat32, a.peer_stage, kActivationTag);
    } else {
      slot.gradient_buffer = torch::empty(shapeOf(end, micro_batch_size_), torch::kFloat32);
      slot.gradient_recv =
          comm_.irecv(slot.gradient_buffer.data_ptr(), slot.gradient_buffer.numel(),
                      DataType::kFloat32, a.peer_stage, kGradientTag);
    }
  }
  struct PendingSend {
    torch::Tensor data;
    std::unique_ptr<collectives::Work> work;
  };
  std::vector<PendingSend> sends;
  auto post = [&](torch::Tensor t, int peer, int tag) {
    t = t.detach().contiguous();
    auto work = comm_.isend(t.data_ptr(), t.numel(), DataType::kFloat32, peer, tag);
    sends.push_back({std::move(t), std::move(work)});
  };
  for (const auto& a : actions) {
    Slot& slot = slots[{a.micro_batch, a.chunk}];
    const auto& [first, end] = layout_.chunks.at(static_cast<size_t>(a.chunk));
    const int64_t j = work.first + a.micro_batch;  // the logical micro-batch
    const int span = observer.beginSpan(partition::toString(a, layout_.virtual_stages > 1),
                                        partition::toString(a.kind), a.chunk,
                                        {{"micro_batch", a.micro_batch}, {"chunk", a.chunk}});
    switch (a.kind) {
      case ActionKind::kRecvActivation:
        slot.activation_recv->wait(opts);
        slot.input = slot.activation_buffer.requires_grad_(true);
        break;
      case ActionKind::kForward: {
        const auto start = std::chrono::steady_clock::now();
        torch::Tensor h = layout_.isFirst(a.chunk) ? batchOf(a.micro_batch).input : slot.input;
        for (int64_t l = first; l < end; ++l) {
          h = forwardLayer(model_, l, h, {seed_, work.step, j}, recompute_);
          observer.layerOutput(j, l, h);
        }
        slot.output = h;
        if (layout_.isLast(a.chunk)) {
          slot.loss = loss_(h, batchOf(a.micro_batch).target);
          losses[static_cast<size_t>(a.micro_batch)] = slot.loss.item<double>();
        }
        emulateSlowdown(slowdown_, start);
        break;
      }
      case ActionKind::kSendActivation:
        post(slot.output, a.peer_stage, kActivationTag);
        break;
      case ActionKind::kRecvGrad:
        slot.gradient_recv->wait(opts);
        break;
      case ActionKind::kBackward: {
        const auto start = std::chrono::steady_clock::now();
        for (auto& p : chunk_params_.at(static_cast<size_t>(a.chunk))) p.mutable_grad().reset();
        if (layout_.isLast(a.chunk)) {
          slot.loss.backward();
        } else {
          torch::autograd::backward({slot.output}, {slot.gradient_buffer});
        }
        emulateSlowdown(slowdown_, start);
        work.after_backward(j, a.chunk);
        slot.output = torch::Tensor();
        slot.loss = torch::Tensor();
        slot.gradient_buffer = torch::Tensor();
        break;
      }
      case ActionKind::kSendGrad:
        post(slot.input.grad(), a.peer_stage, kGradientTag);
        slot.input = torch::Tensor();
        slot.activation_buffer = torch::Tensor();
        break;
    }
    observer.endSpan(span);
  }
  for (auto& s : sends) s.work->wait(opts);
  return losses;
}

torch::Tensor PipelineExecutor::evalForward(const torch::Tensor& input, int64_t batch_size,
                                            const collectives::CollectiveOptions& opts) {
  torch::NoGradGuard no_grad;
  torch::Tensor logits;
  const int pp = layout_.stages;
  for (int vs = 0; vs < pp * layout_.virtual_stages; ++vs) {
    if (vs % pp != layout_.stage) continue;
    const int chunk = vs / pp;
    const auto& [first, end] = layout_.chunks.at(static_cast<size_t>(chunk));
    torch::Tensor h;
    if (vs == 0) {
      h = input;
    } else {
      h = torch::empty(shapeOf(first, batch_size), torch::kFloat32);
      comm_.recv(h.data_ptr(), h.numel(), DataType::kFloat32, (vs - 1) % pp, kEvalTag, opts);
    }
    h = model_.forward(h, first, end);
    if (vs == pp * layout_.virtual_stages - 1) {
      logits = h;
    } else {
      h = h.contiguous();
      comm_.send(h.data_ptr(), h.numel(), DataType::kFloat32, (vs + 1) % pp, kEvalTag, opts);
    }
  }
  return logits;
}

}  // namespace mlcp::runtime
