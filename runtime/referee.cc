#include "runtime/referee.h"

#include <fmt/format.h>

#include "base/error.h"
#include "collectives/exact_sum.h"
#include "data/sample_order.h"
#include "models/layer_model.h"
#include "runtime/job_setup.h"

namespace mlcp::runtime {

struct Referee::State {
  jobs::JobSpec spec;
  collectives::Communicator& self;
  data::DataSplits data;
  std::shared_ptr<models::LayerModel> model;
  std::vector<std::pair<std::string, torch::Tensor>> params;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  LrSchedule schedule;
  int64_t first_layer_with_params = -1;

  State(const jobs::JobSpec& s, collectives::Communicator& c) : spec(s), self(c) {}

  // One operator kind each: its outputs recomputed from the agreed prefix `t` (step0 = the
  // traced step, 0-based).
  std::vector<NamedTensor> recomputeData(const OperatorTrace& t, const OperatorId& id,
                                         int64_t step0);
  std::vector<NamedTensor> recomputeForward(const OperatorTrace& t, const OperatorId& id,
                                            int64_t step0);
  std::vector<NamedTensor> recomputeLoss(const OperatorTrace& t, const OperatorId& id,
                                         int64_t step0);
  std::vector<NamedTensor> recomputeBackward(const OperatorTrace& t, const OperatorId& id,
                                             int64_t step0);
  std::vector<NamedTensor> recomputeReduce(const OperatorTrace& t, const OperatorId& id,
                                           int64_t step0);
  std::vector<NamedTensor> recomputeClip(const OperatorTrace& t, const OperatorId& id,
                                         int64_t step0);
  std::vector<NamedTensor> recomputeUpdate(const OperatorTrace& t, const OperatorId& id,
                                           int64_t step0);

  // Parameters and optimizer state as they were before the traced step.
  void restoreState(const OperatorTrace& t) {
    std::vector<torch::Tensor> tensors;
    for (auto& p : params) tensors.push_back(p.second);
    optimizer = makeOptimizer(spec.optimizer, tensors, model->ops());
    const auto& state = t.at("state");
    restoreTrainingState(params, *optimizer, [&](const std::string& name) {
      for (const auto& o : state.outputs) {
        if (o.name == name) return o.tensor.clone();
      }
      return torch::Tensor();
    });
  }

  std::vector<size_t> paramsOfLayer(int64_t layer) const {
    std::vector<size_t> out;
    for (size_t i = 0; i < params.size(); ++i) {
      if (layerOfParameter(params[i].first) == layer) out.push_back(i);
    }
    return out;
  }

  // The input of layer l on micro-batch j.
  torch::Tensor layerInput(const OperatorTrace& t, int64_t j, int64_t l) {
    const OperatorId from =
        l == 0 ? OperatorId{OperatorKind::kData, j} : OperatorId{OperatorKind::kForward, j, l - 1};
    return t.output(from.name(), l == 0 ? "input" : "output").clone();
  }

  // The mean gradients the update of the traced step used (after clipping when configured).
  std::vector<torch::Tensor> updateGradients(const OperatorTrace& t) {
    std::vector<torch::Tensor> grads;
    for (const auto& [name, p] : params) {
      const int64_t l = layerOfParameter(name);
      grads.push_back(
          spec.optimizer.grad_clip > 0
              ? t.output("clip", "grad/" + name)
              : t.output(OperatorId{OperatorKind::kReduce, -1, l}.name(), "mean_grad/" + name));
    }
    return grads;
  }
};

Referee::Referee(const jobs::JobSpec& spec, collectives::Communicator& self)
    : s_(std::make_unique<State>(spec, self)) {
  auto& s = *s_;
  if (self.size() != 1) throw UsageError("the referee runs on one process");
  setIntraOpThreads(spec);
  s.data = loadJobData(spec);
  s.model =
      models::buildModel(spec.model, s.data.num_classes, spec.seed, nullptr, jobOperators(spec));
  s.model->train();
  for (const auto& item : s.model->named_parameters())
    s.params.emplace_back(item.key(), item.value());
  for (const auto& [name, p] : s.params) {
    const int64_t l = layerOfParameter(name);
    if (s.first_layer_with_params < 0 || l < s.first_layer_with_params)
      s.first_layer_with_params = l;
  }
  s.schedule = makeSchedule(spec, jobSteps(spec, s.data.train->size()));
}

Referee::~Referee() = default;

std::vector<NamedTensor> Referee::State::recomputeData(const OperatorTrace& t, const OperatorId& id,
                                                       int64_t step0) {
  const int64_t j = id.micro_batch;
  const int64_t m = spec.train.micro_batches;
  std::vector<NamedTensor> out;
  data::MicroBatchPlan plan(spec.seed, data.train->size(), spec.train.global_batch, m);
  auto batch = data.train->batch(plan.microBatch(step0, j));
  out = {{"input", batch.input}, {"target", batch.target}};
  return out;
}

std::vector<NamedTensor> Referee::State::recomputeForward(const OperatorTrace& t,
                                                          const OperatorId& id, int64_t step0) {
  const int64_t j = id.micro_batch, l = id.layer;
  std::vector<NamedTensor> out;
  auto x = layerInput(t, j, l);
  seedLayer(spec.seed, step0, j, l);
  out = {{"output", model->forward(x, l, l + 1)}};
  return out;
}

std::vector<NamedTensor> Referee::State::recomputeLoss(const OperatorTrace& t, const OperatorId& id,
                                                       int64_t) {
  const int64_t j = id.micro_batch;
  std::vector<NamedTensor> out;
  auto logits =
      t.output(OperatorId{OperatorKind::kForward, j, model->numLayers() - 1}.name(), "output")
          .clone()
          .requires_grad_(true);
  const auto& target = t.output(OperatorId{OperatorKind::kData, j}.name(), "target");
  auto loss = model->loss(logits, target);
  auto g = torch::autograd::grad({loss}, {logits});
  out = {{"loss", loss}, {"grad_logits", g[0]}};
  return out;
}

std::vector<NamedTensor> Referee::State::recomputeBackward(const OperatorTrace& t,
                                                           const OperatorId& id, int64_t step0) {
  const int64_t j = id.micro_batch, l = id.layer;
  std::vector<NamedTensor> out;
  auto x = layerInput(t, j, l);
  // The layer's input carried a gradient in training iff a layer before it has parameters.
  const bool input_grad = l > 0 && first_layer_with_params >= 0 && l > first_layer_with_params;
  if (input_grad) x.requires_grad_(true);
  seedLayer(spec.seed, step0, j, l);
  auto y = model->forward(x, l, l + 1);
  const auto& grad_out =
      l == model->numLayers() - 1
          ? t.output(OperatorId{OperatorKind::kLoss, j}.name(), "grad_logits")
          : t.output(OperatorId{OperatorKind::kBackward, j, l + 1}.name(), "grad_input");
  std::vector<torch::Tensor> wrt;
  std::vector<std::string> names;
  if (input_grad) {
    wrt.push_back(x);
    names.push_back("grad_input");
  }
  for (size_t i : paramsOfLayer(l)) {
    wrt.push_back(params[i].second);
    names.push_back("grad/" + params[i].first);
  }
  auto grads = torch::autograd::grad({y}, wrt, {grad_out}, /*retain_graph=*/false,
                                     /*create_graph=*/false, /*allow_unused=*/true);
  for (size_t k = 0; k < grads.size(); ++k) {
    if (grads[k].defined()) out.push_back({names[k], grads[k]});
  }
  return out;
}

std::vector<NamedTensor> Referee::State::recomputeReduce(const OperatorTrace& t,
                                                         const OperatorId& id, int64_t) {
  const int64_t l = id.layer;
  const int64_t m = spec.train.micro_batches;
  std::vector<NamedTensor> out;
  // The exact mean over all M micro-batches, segment by segment as the trainer's
  // collectives::ExactSum does (a segment's grid depends on that segment alone).
  const auto mine = paramsOfLayer(l);
  std::vector<int64_t> segments;
  for (size_t i : mine) segments.push_back(params[i].second.numel());
  collectives::ExactSum sum(self, segments);
  std::vector<std::vector<float>> contributions(
      static_cast<size_t>(m), std::vector<float>(static_cast<size_t>(sum.total())));
  for (int64_t mb = 0; mb < m; ++mb) {
    int64_t offset = 0;
    for (size_t i : mine) {
      const auto& g =
          t.output(OperatorId{OperatorKind::kBackward, mb, l}.name(), "grad/" + params[i].first);
      std::memcpy(contributions[static_cast<size_t>(mb)].data() + offset, g.data_ptr<float>(),
                  static_cast<size_t>(g.numel()) * sizeof(float));
      offset += g.numel();
    }
  }
  std::vector<const float*> local;
  for (auto& c : contributions) local.push_back(c.data());
  std::vector<float> mean(static_cast<size_t>(sum.total()));
  sum.reduce(local, m, 1.0 / static_cast<double>(m), mean.data());
  int64_t offset = 0;
  for (size_t i : mine) {
    const auto& p = params[i].second;
    out.push_back({"mean_grad/" + params[i].first,
                   torch::from_blob(mean.data() + offset, p.sizes(), torch::kFloat32).clone()});
    offset += p.numel();
  }
  return out;
}

std::vector<NamedTensor> Referee::State::recomputeClip(const OperatorTrace& t, const OperatorId& id,
                                                       int64_t) {
  std::vector<NamedTensor> out;
  std::vector<torch::Tensor> ps;
  std::vector<float> norms;
  for (auto& [name, p] : params) {
    p.mutable_grad() =
        t.output(OperatorId{OperatorKind::kReduce, -1, layerOfParameter(name)}.name(),
                 "mean_grad/" + name)
            .clone();
    norms.push_back(model->ops().l2Norm(p.grad()));
    ps.push_back(p);
  }
  clipGradNorm(ps, norms, spec.optimizer.grad_clip, model->ops());
  for (auto& [name, p] : params) out.push_back({"grad/" + name, p.grad()});
  return out;
}

std::vector<NamedTensor> Referee::State::recomputeUpdate(const OperatorTrace& t,
                                                         const OperatorId& id, int64_t step0) {
  const int64_t l = id.layer;
  std::vector<NamedTensor> out;
  const auto grads = updateGradients(t);
  bool finite = true;
  for (size_t i = 0; i < params.size(); ++i) {
    params[i].second.mutable_grad() = grads[i].clone();
    finite = finite && torch::isfinite(grads[i]).all().item<bool>();
  }
  if (finite) {  // the trainer skips the update of a step whose gradient is not finite
    setLearningRate(*optimizer, schedule.at(step0));
    optimizer->step();
  }
  const std::string p = fmt::format("params/layers.{}.", l), o = fmt::format("optim/layers.{}.", l);
  for (const auto& e : collectTrainingState(params, *optimizer, step0 + 1)) {
    if (e.name.rfind(p, 0) == 0 || e.name.rfind(o, 0) == 0) out.push_back(e);
  }
  return out;
}

std::vector<NamedTensor> Referee::recompute(const OperatorTrace& t, size_t index) {
  auto& s = *s_;
  if (index >= t.operators().size()) {
    throw InvalidArgument(
        fmt::format("operator {} is past the trace's {}", index, t.operators().size()));
  }
  const OperatorId id = t.operators()[index].id;
  const int64_t step0 = t.step() - 1;  // 0-based index of the traced step
  if (id.kind == OperatorKind::kState) {
    throw VerificationError(fmt::format(
        "the parties disagree on the training state before step {} itself (optimizer state), "
        "though their recorded parameter hashes agree: there is no single operator to recompute",
        t.step()));
  }
  s.restoreState(t);
  std::vector<NamedTensor> out;
  switch (id.kind) {
    case OperatorKind::kData:
      out = s.recomputeData(t, id, step0);
      break;
    case OperatorKind::kForward:
      out = s.recomputeForward(t, id, step0);
      break;
    case OperatorKind::kLoss:
      out = s.recomputeLoss(t, id, step0);
      break;
    case OperatorKind::kBackward:
      out = s.recomputeBackward(t, id, step0);
      break;
    case OperatorKind::kReduce:
      out = s.recomputeReduce(t, id, step0);
      break;
    case OperatorKind::kClip:
      out = s.recomputeClip(t, id, step0);
      break;
    case OperatorKind::kUpdate:
      out = s.recomputeUpdate(t, id, step0);
      break;
    case OperatorKind::kState:
      break;
  }
  for (auto& o : out) o.tensor = o.tensor.detach().contiguous();
  return out;
}

}  // namespace mlcp::runtime
