#include "models/parameter_init.h"

#include <cstring>

#include "base/digest.h"
#include "base/error.h"
#include "models/layer_model.h"
#include "models/tensor_parallel.h"
#include "ops/random.h"

namespace mlcp::models {

uint64_t parameterStreamKey(uint64_t seed, const std::string& name) {
  std::string input = "mlcp parameter init 1";
  input.push_back('\0');
  for (int i = 0; i < 8; ++i) input.push_back(static_cast<char>((seed >> (8 * i)) & 0xff));
  input += name;
  const Hash256 h = blake2b256(input);
  uint64_t key = 0;
  for (int i = 7; i >= 0; --i) key = (key << 8) | h.bytes[static_cast<size_t>(i)];
  return key;
}

torch::Tensor drawParameter(uint64_t seed, const std::string& name, torch::IntArrayRef shape,
                            const ParameterInit& rule) {
  auto out = torch::empty(shape, torch::kFloat32);
  float* y = out.data_ptr<float>();
  const uint64_t key = parameterStreamKey(seed, name);
  switch (rule.kind) {
    case ParameterInit::Kind::kNormal:
      ops::normalFill(y, out.numel(), key, static_cast<float>(rule.a), static_cast<float>(rule.b));
      break;
    case ParameterInit::Kind::kUniform:
      ops::uniformFill(y, out.numel(), key, static_cast<float>(rule.a), static_cast<float>(rule.b));
      break;
    case ParameterInit::Kind::kConstant:
      out.fill_(static_cast<float>(rule.a));
      break;
  }
  return out;
}

void initParameters(LayerModel& model, uint64_t seed, int tp_rank, int tp_size) {
  torch::NoGradGuard no_grad;
  for (auto& p : parameterShards(model)) {
    // "layers.<i>.<rest>": layer i's rule for <rest>.
    const auto first_dot = p.name.find('.');
    const auto second_dot = p.name.find('.', first_dot + 1);
    if (p.name.compare(0, first_dot, "layers") != 0 || second_dot == std::string::npos) {
      throw InvalidArgument("initParameters: parameter '" + p.name + "' is not in a layer");
    }
    const int64_t layer = std::stoll(p.name.substr(first_dot + 1, second_dot - first_dot - 1));
    const ParameterInit rule = model.layer(layer).initOf(p.name.substr(second_dot + 1));
    auto shape = p.shard.sizes().vec();
    if (!p.spec.replicated()) shape[static_cast<size_t>(p.spec.dim)] *= tp_size;
    const auto logical = drawParameter(seed, p.name, shape, rule);
    p.shard.copy_(shardOf(logical, p.spec, tp_rank, tp_size));
  }
}

}  // namespace mlcp::models
