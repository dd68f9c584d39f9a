#include "runtime/training_state.h"

#include "base/error.h"
#include "ops/torch_optimizers.h"

namespace mlcp::runtime {
namespace {

torch::Tensor scalarInt(int64_t v) { return torch::tensor(v, torch::kInt64); }

}  // namespace

std::vector<NamedTensor> collectTrainingState(
    const std::vector<std::pair<std::string, torch::Tensor>>& params,
    torch::optim::Optimizer& optimizer, int64_t step) {
  std::vector<NamedTensor> out;
  for (const auto& [name, p] : params) out.push_back({"params/" + name, p.detach().contiguous()});
  auto& state = optimizer.state();
  for (const auto& [name, p] : params) {
    auto it = state.find(ops::nn::optimizerStateKey(p));
    if (it == state.end()) continue;  // no update yet
    const std::string base = "optim/" + name + "/";
    if (auto* a = dynamic_cast<torch::optim::AdamWParamState*>(it->second.get())) {
      out.push_back({base + "exp_avg", a->exp_avg().contiguous()});
      out.push_back({base + "exp_avg_sq", a->exp_avg_sq().contiguous()});
      out.push_back({base + "step", scalarInt(a->step())});
    } else if (auto* s = dynamic_cast<torch::optim::SGDParamState*>(it->second.get())) {
      if (s->momentum_buffer().defined()) {
        out.push_back({base + "momentum", s->momentum_buffer().contiguous()});
      }
    }
  }
  out.push_back({"train/step", scalarInt(step)});
  std::sort(out.begin(), out.end(),
            [](const NamedTensor& a, const NamedTensor& b) { return a.name < b.name; });
  return out;
}

int64_t restoreTrainingState(const std::vector<std::pair<std::string, torch::Tensor>>& params,
                             torch::optim::Optimizer& optimizer,
                             const std::function<torch::Tensor(const std::string&)>& lookup) {
  torch::NoGradGuard no_grad;
  auto need = [&](const std::string& name, const torch::Tensor& like) {
    auto t = lookup(name);
    if (!t.defined()) throw VerificationError("checkpoint has no tensor '" + name + "'");
    if (t.sizes() != like.sizes()) {
      throw VerificationError("checkpoint tensor '" + name + "' has shape " + c10::str(t.sizes()) +
                              ", the model needs " + c10::str(like.sizes()));
    }
    return t;
  };
  const bool adamw = dynamic_cast<torch::optim::AdamW*>(&optimizer) != nullptr;
  auto& state = optimizer.state();
  state.clear();
  for (const auto& [name, p] : params) {
    p.copy_(need("params/" + name, p));
    const std::string base = "optim/" + name + "/";
    if (adamw) {
      auto m = lookup(base + "exp_avg");
      if (!m.defined()) continue;
      auto st = std::make_unique<torch::optim::AdamWParamState>();
      st->exp_avg(need(base + "exp_avg", p).clone());
      st->exp_avg_sq(need(base + "exp_avg_sq", p).clone());
      st->step(lookup(base + "step").item<int64_t>());
      state[ops::nn::optimizerStateKey(p)] = std::move(st);
    } else {
      auto m = lookup(base + "momentum");
      if (!m.defined()) continue;
      auto st = std::make_unique<torch::optim::SGDParamState>();
      st->momentum_buffer(need(base + "momentum", p).clone());
      state[ops::nn::optimizerStateKey(p)] = std::move(st);
    }
  }
  auto step = lookup("train/step");
  if (!step.defined()) throw VerificationError("checkpoint has no tensor 'train/step'");
  return step.item<int64_t>();
}

}  // namespace mlcp::runtime
