// Every model in mlcp is a sequence of layers: the unit that pipeline stages are cut at, that
// checkpoints name ("layers.<i>.<param>"), and that the dispute protocol hashes operator by
// operator. Parameter names and order are the same in every placement.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "models/operators.h"
#include "models/parameter_init.h"
#include "partition/partitioner.h"

namespace mlcp::jobs {
struct ModelSpec;
}
namespace mlcp::collectives {
class Communicator;
}

namespace mlcp::models {

// Per-sample cost of one layer (the partitioner's unit): floating-point operations of its
// forward and backward, parameter bytes, and the activation bytes kept for backward — of the
// whole layer, even when a tensor-parallel group shares it.
using LayerCost = partition::LayerCost;

// A layer computes with the operator set it was built with (models/operators.h).
class Layer : public torch::nn::Module {
 public:
  explicit Layer(Operators ops) : ops_(ops) {}
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual LayerCost cost() const = 0;
  // How the parameter `name` (relative to the layer, e.g. "linear.weight") starts under the
  // reproducible operator set (models/parameter_init.h).
  virtual ParameterInit initOf(const std::string& name) const = 0;
  const Operators& ops() const { return ops_; }

 private:
  Operators ops_;
};

class LayerModel : public torch::nn::Module {
 public:
  LayerModel(std::string kind, std::vector<std::shared_ptr<Layer>> layers, Operators ops);

  // Runs layers [begin, end) on x; the whole model by default.
  torch::Tensor forward(const torch::Tensor& x, int64_t begin = 0, int64_t end = -1);
  // Mean cross-entropy of logits [..., C] against integer targets [...].
  torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& target) const;
  const Operators& ops() const { return ops_; }

  int64_t numLayers() const { return static_cast<int64_t>(layers_.size()); }
  Layer& layer(int64_t i) { return *layers_.at(static_cast<size_t>(i)); }
  const std::string& kind() const { return kind_; }
  std::vector<LayerCost> costs() const;
  int64_t numParameters() const;

 private:
  std::string kind_;
  std::vector<std::shared_ptr<Layer>> layers_;
  Operators ops_;
};

// Builds the model a job names, computing with `ops`, with initial parameters drawn from `seed`
// alone (every rank builds the identical model): under the reproducible set by
// initParameters (the same bits on every CPU), under the native set by LibTorch's initialisers
// from its default generator. `num_classes` is the output width (10 classes, or 256 bytes).
// A kind other than the built-in ones is built by the program's registration
// (models/model_registry.h).
// `tp`: the tensor-parallel group the model's layers are split over (GPT only; nullptr: none),
// which must outlive the model; each rank holds its shards of the same logical parameters.
std::shared_ptr<LayerModel> buildModel(const jobs::ModelSpec& spec, int64_t num_classes,
                                       uint64_t seed, collectives::Communicator* tp = nullptr,
                                       Operators ops = Operators());

// The mean loss of a micro-batch's logits: LayerModel::loss, or under tp the GPT's
// vocabulary-parallel cross-entropy (equal on every tp rank).
torch::Tensor modelLoss(const LayerModel& model, const torch::Tensor& logits,
                        const torch::Tensor& target, collectives::Communicator* tp);

}  // namespace mlcp::models
