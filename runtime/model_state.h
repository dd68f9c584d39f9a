// The job's parameters and optimizer state as this rank holds them, and their logical layout.
//
// - params(): every parameter of the model this rank built, in registration (= name) order;
//   under tensor parallelism each is this rank's shard (models/tensor_parallel.h).
// - Parameter i lives on the pipeline stage that holds its layer; it is hashed and saved by the
//   world rank of data-parallel replica (i mod dp) of that stage, tp rank 0 (ownerOf(i)), so
//   every tensor of the job is written once whatever the placement.
// - owned(): the parameters of this rank's stage — the ones it reduces; the optimizer updates
//   them all, or with a sharded optimizer (ZeRO stage 1, `[parallel] shard_optimizer`) each
//   data-parallel replica updates its share — whole parameters, balanced by size
//   (shardOptimizerState) — keeps the optimizer state of that share only, and broadcasts the
//   updated parameters to the other replicas. The update is element-wise, so a parameter gets
//   the same bits whichever replica updates it: sharding never changes the result. The owner of
//   a parameter then also hashes and checkpoints it.
// Checkpoints, the per-step state hash and final_state.bin see the logical (unsharded) layout:
// the methods marked "collective over tp" gather shards, every tp rank calling them in the
// same order.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "collectives/communicator.h"
#include "jobs/job_spec.h"
#include "models/layer_model.h"
#include "models/tensor_parallel.h"
#include "runtime/placement.h"
#include "runtime/training_state.h"
#include "verify/checkpoint.h"
#include "verify/hash.h"

namespace mlcp::runtime {

class ModelState {
 public:
  using Named = std::vector<std::pair<std::string, torch::Tensor>>;

  // `groups` is borrowed and must outlive this object. `shard_optimizer`: ZeRO stage 1 over the
  // data-parallel group (see above).
  ModelState(std::shared_ptr<models::LayerModel> model, const Placement& placement,
             const ProcessGroups& groups, const jobs::OptimizerSpec& optimizer,
             bool shard_optimizer = false);

  models::LayerModel& model() { return *model_; }
  const Named& params() const { return params_; }
  const Named& owned() const { return owned_; }
  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  // One optimizer step with the owned parameters' .grad (the step's mean gradient). Sharded:
  // this replica updates its share, then each updated parameter is broadcast from its replica
  // (collective over the data-parallel group).
  void step(const collectives::CollectiveOptions& opts);
  bool shardsOptimizer() const { return sharded_; }
  // Bytes of optimizer state this rank holds now.
  int64_t optimizerStateBytes() const;
  // Element counts of the owned parameters, in order (the exact sum's segments).
  std::vector<int64_t> ownedSizes() const;
  // Indices into owned() of the parameters of layers [first, end).
  std::vector<int64_t> ownedInLayers(int64_t first, int64_t end) const;
  int stageOf(size_t param) const { return stage_of_.at(param); }
  int ownerOf(size_t param) const { return owner_of_.at(param); }
  // Parameter indices of each layer (for operator traces, which name tensors per layer).
  std::vector<std::vector<size_t>> paramsByLayer() const;

  // The training state this rank writes of checkpoint `step` (collective over tp): parameters
  // and optimizer state of its stage in the logical layout, plus "train/step" and the state
  // chain `chain` ("train/state_chain") from stage 0; tensor i of a stage's state goes to
  // replica i mod dp, tp rank 0.
  std::vector<NamedTensor> checkpointShare(int64_t step, const verify::Hash256& chain);
  // Restores this rank's parameters and optimizer state from a verified checkpoint; returns its
  // step, and its stored state chain through `chain` (false when it has none).
  int64_t restore(const verify::CheckpointReader& reader, verify::Hash256* chain, bool* has_chain);
  // The parameters this rank hashes for the per-step state digest, in the logical layout,
  // indexed by parameter (undefined where another rank hashes it). Collective over tp.
  std::vector<torch::Tensor> hashSources();
  // Scales the owned gradients to the job's global norm over every parameter of every stage —
  // the same float operations as torch::nn::utils::clip_grad_norm_ on the whole model, on any
  // placement. Collective over tp and pp.
  void clipGradients(double max_norm, const collectives::CollectiveOptions& opts);
  // Rank 0 writes RUN_DIR/final_state.bin (verify/final_state.h) with every parameter in the
  // logical layout, received from the stage that holds it; returns the file's hash (hex) on
  // rank 0, "" elsewhere. Collective over the world.
  std::string writeFinalState(const std::string& path, const collectives::CollectiveOptions& opts);

 private:
  torch::Tensor logical(size_t i, const torch::Tensor& t);      // gathered over tp
  torch::Tensor slice(size_t i, const torch::Tensor& t) const;  // this rank's tp shard
  std::vector<int64_t> logicalShape(size_t i) const;
  int64_t paramOfEntry(const std::string& entry) const;  // "params/<p>", "optim/<p>/..." -> i

  std::shared_ptr<models::LayerModel> model_;
  const ProcessGroups& groups_;
  partition::MeshShape mesh_;
  Named params_, owned_;
  std::vector<models::ShardSpec> spec_;  // [param] -> how tp slices it
  std::vector<int> stage_of_, owner_of_;
  std::vector<int64_t> owned_param_;  // [owned] -> param index
  bool sharded_ = false;
  std::vector<int> updater_;  // [param] -> the data-parallel replica that updates it
  Named updated_;             // the owned parameters this rank's optimizer updates
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
};

// ZeRO stage 1's assignment: parameter k (of `sizes`, element counts) to replica
// result[k] of `replicas`, largest first (ties by index) to the least-loaded replica (ties by
// replica), so every replica holds about 1/replicas of the optimizer state. A pure function of
// the sizes: every rank computes the same assignment.
std::vector<int> shardOptimizerState(const std::vector<int64_t>& sizes, int replicas);

}  // namespace mlcp::runtime
