#include "models/layer_model.h"

#include "base/error.h"
#include "jobs/job_spec.h"
#include "models/cnn.h"
#include "models/gpt.h"
#include "models/layer_stack.h"
#include "models/mlp.h"
#include "models/model_registry.h"
#include "models/tensor_parallel.h"

namespace mlcp::models {

LayerModel::LayerModel(std::string kind, std::vector<std::shared_ptr<Layer>> layers, Operators ops)
    : kind_(std::move(kind)), layers_(std::move(layers)), ops_(ops) {
  // A ModuleList names the parameters "layers.<i>.<name>" (register_module refuses dots).
  auto list = register_module("layers", torch::nn::ModuleList());
  for (auto& layer : layers_) list->push_back(layer);
}

torch::Tensor LayerModel::forward(const torch::Tensor& x, int64_t begin, int64_t end) {
  if (end < 0) end = numLayers();
  torch::Tensor h = x;
  for (int64_t i = begin; i < end; ++i) h = layers_[static_cast<size_t>(i)]->forward(h);
  return h;
}

torch::Tensor LayerModel::loss(const torch::Tensor& logits, const torch::Tensor& target) const {
  return ops_.crossEntropy(logits, target);
}

std::vector<LayerCost> LayerModel::costs() const {
  std::vector<LayerCost> out;
  for (size_t i = 0; i < layers_.size(); ++i) {
    LayerCost c = layers_[i]->cost();
    c.name = "layers." + std::to_string(i) + " (" + c.name + ")";
    out.push_back(c);
  }
  return out;
}

int64_t LayerModel::numParameters() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

std::shared_ptr<LayerModel> buildModel(const jobs::ModelSpec& spec, int64_t num_classes,
                                       uint64_t seed, collectives::Communicator* tp,
                                       Operators ops) {
  if (tp != nullptr && spec.kind != "gpt") {
    throw UsageError("tensor parallelism (tp = " + std::to_string(tp->size()) +
                     ") needs model.kind = \"gpt\", not '" + spec.kind + "'");
  }
  // Native: initial parameters are a function of the seed only because LibTorch's CPU
  // generator is seeded here and consumed in construction order, identical on every rank.
  torch::manual_seed(seed);
  std::shared_ptr<LayerModel> model;
  if (spec.kind == "mlp") {
    model = buildMlp(spec, num_classes, ops);
  } else if (spec.kind == "cnn") {
    model = buildCnn(spec, num_classes, ops);
  } else if (spec.kind == "gpt") {
    model = buildGpt(spec, num_classes, seed, tp, ops);
  } else if (spec.kind == "stack") {
    model = buildLayerStack(spec, num_classes, ops);
  } else {
    model = buildRegisteredModel(spec, num_classes, ops);  // models/model_registry.h
  }
  if (ops.reproducible()) initParameters(*model, seed, groupRank(tp), groupSize(tp));
  return model;
}

torch::Tensor modelLoss(const LayerModel& model, const torch::Tensor& logits,
                        const torch::Tensor& target, collectives::Communicator* tp) {
  return model.kind() == "gpt" ? gptLoss(logits, target, tp, model.ops())
                               : model.loss(logits, target);
}

}  // namespace mlcp::models
