#include "models/layer_model.h"

#include "jobs/job_spec.h"
#include "models/cnn.h"
#include "models/gpt.h"
#include "models/mlp.h"
#include "runtime/error.h"

namespace mlcp::models {

LayerModel::LayerModel(std::string kind, std::vector<std::shared_ptr<Layer>> layers)
    : kind_(std::move(kind)), layers_(std::move(layers)) {
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

torch::Tensor LayerModel::loss(const torch::Tensor& logits, const torch::Tensor& target) {
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}),
                                              target.reshape({-1}));
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
                                       uint64_t seed) {
  // Initial parameters are a function of the seed only: LibTorch's CPU generator is seeded
  // here and consumed in construction order, identical on every rank.
  torch::manual_seed(seed);
  if (spec.kind == "mlp") return buildMlp(spec, num_classes);
  if (spec.kind == "cnn") return buildCnn(spec, num_classes);
  if (spec.kind == "gpt") return buildGpt(spec, num_classes);
  throw UsageError("model.kind '" + spec.kind + "' is not one of mlp, cnn, gpt");
}

}  // namespace mlcp::models
