// Tensor-parallel building blocks (Megatron-LM, Shoeybi et al. 2019): layers whose weights are
// split over the `p` ranks of a tensor-parallel communicator, and the collectives that join
// them, in named forward/backward pairs.
//
// Contracts shared by everything here:
// - The layers take the tp communicator as a pointer; nullptr means no tensor parallelism: the
//   whole layer on this rank, computed with exactly the operators of the unsharded layer
//   (Operators::linear with its bias, Operators::embedding), so a model built from these layers
//   is its own tp = 1 case. Layers and functions compute with the Operators they are given
//   (models/operators.h; default: reproducible).
// - The tp communicator is passed explicitly and must outlive every autograd graph built with
//   it (backward calls collectives on it). Every rank of the group runs the same forward and
//   backward in the same order: each collective here is a collective call on the group.
// - Tensors are CPU float32 or float64 (the Communicator moves host memory).
// - Reductions are in a FIXED order: every "sum over tp" below is an allgather of the partial
//   tensors followed by p[0] + p[1] + ... + p[p-1] on every rank. The result is therefore
//   bitwise identical on every tp rank and from run to run, whatever algorithm MPI picks — but it
//   is not bitwise equal to the tp = 1 result when a matmul's inner dimension is split (the
//   float summation order changes); see docs/tensor-parallel.md for the tolerances measured.
// - Initial parameters are exact slices of the unsharded model's (ShardSpec, shardOf): a tp run
//   starts from the same logical parameters as tp = 1. Checkpoints store the logical layout;
//   parameterShards / gatherLogical / loadLogicalParameters convert.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "collectives/communicator.h"
#include "models/operators.h"

namespace mlcp::models {

// ---- Collectives on tensors (no autograd), fixed order --------------------------------------

// Sum over the group of `x` (same shape on every rank), as p[0] + p[1] + ... in rank order.
torch::Tensor allreduceSumOrdered(const torch::Tensor& x, collectives::Communicator& comm);
// Element-wise maximum over the group (exact: max does not round).
torch::Tensor allreduceMax(const torch::Tensor& x, collectives::Communicator& comm);
// [..., n] on every rank -> [..., p*n]: rank r's tensor at columns [r*n, (r+1)*n).
torch::Tensor allgatherLastDim(const torch::Tensor& x, collectives::Communicator& comm);
// [..., p*n] -> this rank's columns [r*n, (r+1)*n) (contiguous copy). Local: no communication.
torch::Tensor splitLastDim(const torch::Tensor& x, collectives::Communicator& comm);

// ---- Autograd pairs (torch::autograd::Function subclasses in the .cc) ----------------------
// Enter a tensor-parallel region with a replicated input: forward identity, backward sum over
// tp (each rank's branch contributes a partial gradient of the replicated input).
torch::Tensor copyToTensorParallel(const torch::Tensor& x, collectives::Communicator& comm);
// Leave a region whose ranks hold partial sums: forward sum over tp, backward identity.
torch::Tensor reduceFromTensorParallel(const torch::Tensor& x, collectives::Communicator& comm);
// Leave a region whose ranks hold column blocks: forward allgather along the last dim,
// backward split (each rank keeps the gradient of its own columns).
torch::Tensor gatherFromTensorParallel(const torch::Tensor& x, collectives::Communicator& comm);
// Enter a region from a replicated input by taking this rank's columns: forward split along the
// last dim, backward allgather.
torch::Tensor scatterToTensorParallel(const torch::Tensor& x, collectives::Communicator& comm);

// ---- How a logical (unsharded) tensor is laid out over tp ranks -----------------------------
// dim < 0: replicated (every rank holds the whole tensor).
// dim >= 0: the logical size along `dim` is viewed as `groups` equal groups (e.g. q, k, v of a
// fused qkv projection: groups = 3), each group is cut into p equal contiguous parts, and rank
// r holds part r of every group, concatenated in group order. groups = 1 is a plain split.
struct ShardSpec {
  int64_t dim = -1;
  int64_t groups = 1;
  bool replicated() const { return dim < 0; }
};
std::string toString(const ShardSpec& s);

// Rank `rank`'s shard of `logical` (a contiguous copy; the whole tensor when replicated).
// Throws InvalidArgument when the size along dim is not divisible by groups * size.
torch::Tensor shardOf(const torch::Tensor& logical, const ShardSpec& s, int rank, int size);
// The logical tensor from the shards of all ranks in rank order (inverse of shardOf; for a
// replicated spec, shards[0]). Exact: only copies.
torch::Tensor logicalOf(const std::vector<torch::Tensor>& shards, const ShardSpec& s);
// Collective over `comm`: every rank passes its shard, every rank gets the logical tensor.
torch::Tensor gatherLogical(const torch::Tensor& shard, const ShardSpec& s,
                            collectives::Communicator& comm);

// Implemented by every module whose own parameters are sharded; parameters of other modules
// are replicated.
class ShardedModule {
 public:
  virtual ~ShardedModule() = default;
  // The spec of one of the module's own parameters, by its local name ("weight", "bias").
  virtual ShardSpec shardSpec(const std::string& local_name) const = 0;
};

// One parameter of a (possibly) sharded model: its full dotted name — the same as the logical
// model's name — this rank's tensor, and how it is laid out.
struct ParameterShard {
  std::string name;
  torch::Tensor shard;
  ShardSpec spec;
};
// Every parameter of `model` in registration order (the order of model.named_parameters()).
std::vector<ParameterShard> parameterShards(torch::nn::Module& model);
// Copies rank `rank`'s slice of every logical tensor into the model's parameters (no autograd).
// `logical` must name every parameter of the model with its logical shape; extra names are an
// error too, so a mismatched checkpoint cannot load silently.
void loadLogicalParameters(torch::nn::Module& model,
                           const std::vector<std::pair<std::string, torch::Tensor>>& logical,
                           int rank, int size);
// Collective: the model's parameters in the logical layout, in registration order.
std::vector<std::pair<std::string, torch::Tensor>> gatherLogicalParameters(
    torch::nn::Module& model, collectives::Communicator& comm);

// Collective: the L2 norm (Operators::l2Norm) of every parameter's logical gradient, in
// registration order (0 for a parameter without a gradient). Each norm is taken on the gathered
// logical tensor — the same op on the same shape as at tp = 1 — so it equals the unsharded
// model's norm bit for bit whenever the gradient does (always at tp = 1), and the same value on
// every tp rank.
std::vector<float> logicalGradNorms(torch::nn::Module& model, collectives::Communicator& comm,
                                    const Operators& ops = Operators());

// ---- Layers ---------------------------------------------------------------------------------

// The group's size and this rank's index in it (1 and 0 without a group).
inline int groupSize(const collectives::Communicator* comm) { return comm ? comm->size() : 1; }
inline int groupRank(const collectives::Communicator* comm) { return comm ? comm->rank() : 0; }

// Y = X A^T + b with A = [A_1; ...; A_p] split by output rows (and b = [b_1; ...; b_p]):
// rank i computes Y_i = X A_i^T + b_i from the replicated X (copyToTensorParallel: dX is the
// sum over tp of X's partial gradients). gather_output: Y = [Y_1 ... Y_p] on every rank
// (gatherFromTensorParallel); otherwise each rank returns its Y_i, the input of a
// RowParallelLinear. `groups` > 1 splits each of `groups` equal row groups separately (fused
// q, k, v), so Y_i holds rank i's part of every group; gather_output needs groups = 1.
class ColumnParallelLinear : public torch::nn::Module, public ShardedModule {
 public:
  ColumnParallelLinear(int64_t in_features, int64_t out_features, bool with_bias,
                       bool gather_output, collectives::Communicator* comm, int64_t groups = 1,
                       Operators ops = Operators());
  torch::Tensor forward(const torch::Tensor& x);
  ShardSpec shardSpec(const std::string& local_name) const override;
  int64_t localOutFeatures() const { return out_local_; }

  torch::Tensor weight;  // [out/p, in]
  torch::Tensor bias;    // [out/p] or undefined

 private:
  collectives::Communicator* comm_;
  int64_t out_local_;
  int64_t groups_;
  bool gather_output_;
  Operators ops_;
};

// Y = X A^T + b with A = [A_1 ... A_p] split by input columns and X = [X_1 ... X_p]:
// Y = sum_i X_i A_i^T + b. Rank i computes X_i A_i^T, the partial outputs are summed over tp
// (reduceFromTensorParallel, fixed order), and the replicated b is added once, after the sum
// (without a group: one fused linear with its bias, as an unsharded Linear).
// input_is_parallel: X arrives as X_i (from a ColumnParallelLinear); otherwise X is replicated
// and split here (scatterToTensorParallel).
class RowParallelLinear : public torch::nn::Module, public ShardedModule {
 public:
  RowParallelLinear(int64_t in_features, int64_t out_features, bool with_bias,
                    bool input_is_parallel, collectives::Communicator* comm,
                    Operators ops = Operators());
  torch::Tensor forward(const torch::Tensor& x);
  ShardSpec shardSpec(const std::string& local_name) const override;

  torch::Tensor weight;  // [out, in/p]
  torch::Tensor bias;    // [out], replicated, or undefined

 private:
  collectives::Communicator* comm_;
  bool input_is_parallel_;
  Operators ops_;
};

// E[x] with the vocabulary rows split: rank i owns rows [i*V/p, (i+1)*V/p). A token outside a
// rank's range looks up zeros there; the sum over tp (reduceFromTensorParallel) then holds
// exactly the owner's row on every rank (adding zeros is exact, so this forward is bitwise
// equal to an unsharded embedding).
class VocabParallelEmbedding : public torch::nn::Module, public ShardedModule {
 public:
  VocabParallelEmbedding(int64_t vocab, int64_t dim, collectives::Communicator* comm,
                         Operators ops = Operators());
  torch::Tensor forward(const torch::Tensor& tokens);
  ShardSpec shardSpec(const std::string& local_name) const override;
  int64_t vocabBegin() const { return begin_; }
  int64_t vocabEnd() const { return end_; }

  torch::Tensor weight;  // [V/p, dim]

 private:
  collectives::Communicator* comm_;
  int64_t begin_, end_;
  Operators ops_;
};

// Per-token cross-entropy from logits sharded by vocabulary: `logits` [..., V/p] holds rank r's
// vocabulary columns [r*V/p, (r+1)*V/p); `target` [...] holds global token ids in [0, V).
// Returns loss [...] = log(sum_v exp(z_v - m)) - (z_t - m), identical on every rank, with
//   m = max over tp of the local maxima (allreduce-max, for stability),
//   the exp-sum and the target logit each summed over tp (fixed order; the target logit has
//   one non-zero contribution, so its sum is exact).
// Backward: d loss / d z_v = softmax_v - [v == t], computed on each rank's own columns; no
// communication. A target outside [0, V) is refused (InvalidArgument; there is no ignore_index).
// exp, log and the row sums are `ops`' (Operators::exp, log, rowSums).
torch::Tensor vocabParallelCrossEntropy(const torch::Tensor& logits, const torch::Tensor& target,
                                        collectives::Communicator& comm,
                                        const Operators& ops = Operators());

}  // namespace mlcp::models
