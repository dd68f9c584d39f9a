// Initial parameters that are the same bits on every CPU: the reproducible operator set's
// initialisation (models/operators.h). The native set keeps LibTorch's initialisers, whose
// normal sampler is vectorised per CPU capability.
//
// Parameter N (its full name, "layers.<i>.<...>") of a job with seed S is a pure function of
// (S, N, its logical shape, its rule): the values are drawn from the ops/random.h stream keyed by
// the first 8 bytes (little-endian) of BLAKE2b-256("mlcp parameter init 1" || 0x00 || S as 8
// little-endian bytes || N). So initial values do not depend on construction order, on which
// rank draws them, or on tensor parallelism (each rank draws the logical tensor and keeps its
// slice).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace mlcp::models {

class LayerModel;

// How one parameter starts: N(mean, std), U[low, high) or a constant.
struct ParameterInit {
  enum class Kind { kNormal, kUniform, kConstant };
  Kind kind = Kind::kConstant;
  double a = 0, b = 0;  // normal: mean, std; uniform: low, high; constant: value

  static ParameterInit normal(double mean, double std) { return {Kind::kNormal, mean, std}; }
  static ParameterInit uniform(double low, double high) { return {Kind::kUniform, low, high}; }
  static ParameterInit constant(double value) { return {Kind::kConstant, value, 0}; }
};

// The stream key of parameter `name` under `seed` (see above).
uint64_t parameterStreamKey(uint64_t seed, const std::string& name);

// The logical tensor of parameter `name`, of `shape`, drawn by `rule`.
torch::Tensor drawParameter(uint64_t seed, const std::string& name, torch::IntArrayRef shape,
                            const ParameterInit& rule);

// Sets every parameter of `model` — this rank's shard of it when the model is split over a
// tensor-parallel group of `tp_size` ranks (tp_rank is this rank's index) — to its drawn
// logical value, by the rule its layer gives (Layer::initOf).
void initParameters(LayerModel& model, uint64_t seed, int tp_rank = 0, int tp_size = 1);

}  // namespace mlcp::models
