#include "runtime/model_state.h"

#include <algorithm>

#include "base/error.h"
#include "runtime/checkpointer.h"
#include "runtime/job_setup.h"
#include "runtime/operator_trace.h"
#include "verify/final_state.h"

namespace mlcp::runtime {

using collectives::DataType;
using collectives::ReduceOp;

std::vector<int> shardOptimizerState(const std::vector<int64_t>& sizes, int replicas) {
  std::vector<size_t> order(sizes.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sizes[a] > sizes[b]; });
  std::vector<int64_t> load(static_cast<size_t>(std::max(1, replicas)), 0);
  std::vector<int> out(sizes.size(), 0);
  for (size_t k : order) {
    const auto least = std::min_element(load.begin(), load.end()) - load.begin();
    out[k] = static_cast<int>(least);
    load[static_cast<size_t>(least)] += sizes[k];
  }
  return out;
}

ModelState::ModelState(std::shared_ptr<models::LayerModel> model, const Placement& placement,
                       const ProcessGroups& groups, const jobs::OptimizerSpec& optimizer,
                       bool shard_optimizer)
    : model_(std::move(model)), groups_(groups), mesh_(placement.mesh()) {
  for (const auto& item : model_->named_parameters())
    params_.emplace_back(item.key(), item.value());
  for (const auto& shard : models::parameterShards(*model_)) spec_.push_back(shard.spec);
  sharded_ = shard_optimizer && mesh_.dp > 1;
  updater_.assign(params_.size(), 0);
  for (size_t i = 0; i < params_.size(); ++i) {
    stage_of_.push_back(mesh_.pp > 1 ? placement.stageOfLayer(layerOfParameter(params_[i].first))
                                     : 0);
    updater_[i] = static_cast<int>(i % static_cast<size_t>(mesh_.dp));
  }
  if (sharded_) {  // each stage's parameters over its replicas (shard sizes: equal over tp)
    for (int stage = 0; stage < mesh_.pp; ++stage) {
      std::vector<size_t> mine;
      std::vector<int64_t> sizes;
      for (size_t i = 0; i < params_.size(); ++i) {
        if (stage_of_[i] != stage) continue;
        mine.push_back(i);
        sizes.push_back(params_[i].second.numel());
      }
      const auto replica = shardOptimizerState(sizes, mesh_.dp);
      for (size_t k = 0; k < mine.size(); ++k) updater_[mine[k]] = replica[k];
    }
  }
  const partition::MeshLayout layout(mesh_);
  std::vector<torch::Tensor> tensors;
  for (size_t i = 0; i < params_.size(); ++i) {
    owner_of_.push_back(layout.rank({updater_[i], stage_of_[i], 0}));
    if (stage_of_[i] != groups_.coord.pp) continue;
    owned_.push_back(params_[i]);
    owned_param_.push_back(static_cast<int64_t>(i));
    if (sharded_ && updater_[i] != groups_.coord.dp) continue;
    updated_.push_back(params_[i]);
    tensors.push_back(params_[i].second);
  }
  optimizer_ = makeOptimizer(optimizer, tensors, model_->ops());
}

void ModelState::step(const collectives::CollectiveOptions& opts) {
  optimizer_->step();
  if (!sharded_) return;
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < owned_.size(); ++k) {
    auto& p = owned_[k].second;
    groups_.dp->broadcast(p.data_ptr(), p.numel(), DataType::kFloat32,
                          updater_[static_cast<size_t>(owned_param_[k])], opts);
  }
}

int64_t ModelState::optimizerStateBytes() const {
  int64_t bytes = 0;
  for (const auto& [key, state] : optimizer_->state()) {
    if (auto* a = dynamic_cast<const torch::optim::AdamWParamState*>(state.get())) {
      bytes += a->exp_avg().nbytes() + a->exp_avg_sq().nbytes();
    } else if (auto* s = dynamic_cast<const torch::optim::SGDParamState*>(state.get())) {
      if (s->momentum_buffer().defined()) bytes += s->momentum_buffer().nbytes();
    }
  }
  return bytes;
}

std::vector<int64_t> ModelState::ownedSizes() const {
  std::vector<int64_t> sizes;
  for (const auto& p : owned_) sizes.push_back(p.second.numel());
  return sizes;
}

std::vector<int64_t> ModelState::ownedInLayers(int64_t first, int64_t end) const {
  std::vector<int64_t> out;
  for (size_t k = 0; k < owned_.size(); ++k) {
    const int64_t l = layerOfParameter(owned_[k].first);
    if (l >= first && l < end) out.push_back(static_cast<int64_t>(k));
  }
  return out;
}

std::vector<std::vector<size_t>> ModelState::paramsByLayer() const {
  std::vector<std::vector<size_t>> out(static_cast<size_t>(model_->numLayers()));
  for (size_t i = 0; i < params_.size(); ++i) {
    const int64_t l = layerOfParameter(params_[i].first);
    if (l >= 0) out[static_cast<size_t>(l)].push_back(i);
  }
  return out;
}

torch::Tensor ModelState::logical(size_t i, const torch::Tensor& t) {
  if (groups_.tp == nullptr || t.dim() == 0 || spec_[i].replicated()) return t;
  return models::gatherLogical(t.contiguous(), spec_[i], *groups_.tp);
}

torch::Tensor ModelState::slice(size_t i, const torch::Tensor& t) const {
  if (groups_.tp == nullptr || t.dim() == 0 || spec_[i].replicated()) return t;
  return models::shardOf(t, spec_[i], groups_.tp->rank(), groups_.tp->size());
}

std::vector<int64_t> ModelState::logicalShape(size_t i) const {
  std::vector<int64_t> shape(params_[i].second.sizes().begin(), params_[i].second.sizes().end());
  if (groups_.tp != nullptr && !spec_[i].replicated()) {
    shape[static_cast<size_t>(spec_[i].dim)] *= groups_.tp->size();
  }
  return shape;
}

int64_t ModelState::paramOfEntry(const std::string& entry) const {
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& n = params_[i].first;
    if (entry == "params/" + n || entry.rfind("optim/" + n + "/", 0) == 0) {
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

std::vector<NamedTensor> ModelState::checkpointShare(int64_t step, const verify::Hash256& chain) {
  // Sharded: each replica writes what it updates (the parameters and their optimizer state);
  // otherwise tensor i of the stage's sorted state goes to replica i mod dp.
  auto state = collectTrainingState(sharded_ ? updated_ : owned_, *optimizer_, step);
  auto chain_bytes = torch::empty({static_cast<int64_t>(chain.bytes.size())}, torch::kUInt8);
  std::memcpy(chain_bytes.data_ptr(), chain.bytes.data(), chain.bytes.size());
  state.push_back({"train/state_chain", chain_bytes});
  for (auto& e : state) {  // the logical layout (collective over tp, same order everywhere)
    const int64_t pi = paramOfEntry(e.name);
    if (pi >= 0) e.tensor = logical(static_cast<size_t>(pi), e.tensor);
  }
  std::vector<NamedTensor> mine;
  const auto& c = groups_.coord;
  for (size_t i = 0; i < state.size() && c.tp == 0; ++i) {
    const bool train = state[i].name.rfind("train/", 0) == 0;
    int replica = static_cast<int>(i % static_cast<size_t>(mesh_.dp));
    if (sharded_) replica = train ? 0 : c.dp;
    if (replica != c.dp || (train && c.pp != 0)) continue;
    mine.push_back(state[i]);
  }
  return mine;
}

int64_t ModelState::restore(const verify::CheckpointReader& reader, verify::Hash256* chain,
                            bool* has_chain) {
  const auto stored_chain = readCheckpointTensor(reader, "train/state_chain");
  *has_chain = stored_chain.defined();
  if (*has_chain) {
    if (stored_chain.numel() != static_cast<int64_t>(chain->bytes.size())) {
      throw VerificationError(reader.dir() + ": train/state_chain is not 32 bytes");
    }
    std::memcpy(chain->bytes.data(), stored_chain.data_ptr(), chain->bytes.size());
  }
  const auto lookup = [&](const std::string& name) {
    const int64_t pi = paramOfEntry(name);
    auto t = readCheckpointTensor(reader, name);
    return pi >= 0 && t.defined() ? slice(static_cast<size_t>(pi), t) : t;
  };
  if (sharded_) {  // every owned parameter, then the state of this replica's share
    torch::NoGradGuard no_grad;
    for (size_t k = 0; k < owned_.size(); ++k) {
      auto& [name, p] = owned_[k];
      auto t = lookup("params/" + name);
      if (!t.defined() || t.sizes() != p.sizes()) {
        throw VerificationError(reader.dir() + ": checkpoint has no tensor 'params/" + name +
                                "' of shape " + c10::str(p.sizes()));
      }
      p.copy_(t);
    }
  }
  return restoreTrainingState(updated_, *optimizer_, lookup);
}

std::vector<torch::Tensor> ModelState::hashSources() {
  std::vector<torch::Tensor> out(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    if (stage_of_[i] != groups_.coord.pp) continue;
    auto t = logical(i, params_[i].second.detach());
    if (owner_of_[i] == groups_.world->rank()) out[i] = t;
  }
  return out;
}

void ModelState::clipGradients(double max_norm, const collectives::CollectiveOptions& opts) {
  // Per-parameter norms in global parameter order; within a replica each stage writes its own
  // slots and the others are zero, so the SUM over the pipeline group is exact.
  std::vector<float> norms(params_.size(), 0.0f);
  if (groups_.tp != nullptr) {
    // Norms of the logical gradients (gathered over tp): zeros for other stages' parameters.
    norms = models::logicalGradNorms(*model_, *groups_.tp, model_->ops());
    for (size_t i = 0; i < params_.size(); ++i) {
      if (stage_of_[i] != groups_.coord.pp) norms[i] = 0.0f;
    }
  } else {
    for (size_t k = 0; k < owned_.size(); ++k) {
      norms[static_cast<size_t>(owned_param_[k])] = model_->ops().l2Norm(owned_[k].second.grad());
    }
  }
  if (groups_.pp != nullptr) {
    groups_.pp->allreduce(norms.data(), static_cast<int64_t>(norms.size()), DataType::kFloat32,
                          ReduceOp::kSum, opts);
  }
  std::vector<torch::Tensor> owned_tensors;
  for (auto& p : owned_) owned_tensors.push_back(p.second);
  clipGradNorm(owned_tensors, norms, max_norm, model_->ops());
}

std::string ModelState::writeFinalState(const std::string& path,
                                        const collectives::CollectiveOptions& opts) {
  // Rank 0 (stage 0) writes the file; a parameter of another stage comes from its owner.
  constexpr int kFinalStateTag = 0x5A20;
  auto& world = *groups_.world;
  std::vector<torch::Tensor> logical_params;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto c = stage_of_[i] == groups_.coord.pp ? logical(i, params_[i].second.detach()).contiguous()
                                              : torch::Tensor();
    if (stage_of_[i] != 0) {  // rank 0 does not hold it
      if (world.rank() == owner_of_[i]) {
        world.send(c.data_ptr(), c.numel(), DataType::kFloat32, 0, kFinalStateTag, opts);
      }
      if (world.rank() == 0) {
        c = torch::empty(logicalShape(i), torch::kFloat32);
        world.recv(c.data_ptr(), c.numel(), DataType::kFloat32, owner_of_[i], kFinalStateTag, opts);
      }
    }
    logical_params.push_back(world.rank() == 0 ? c : torch::Tensor());
  }
  if (world.rank() != 0) return "";
  std::vector<verify::FinalStateEntry> entries;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& t = logical_params[i];
    entries.push_back({params_[i].first, std::vector<int64_t>(t.sizes().begin(), t.sizes().end()),
                       t.data_ptr<float>()});
  }
  return verify::writeFinalState(path, entries);
}

}  // namespace mlcp::runtime
