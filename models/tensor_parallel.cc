#include "models/tensor_parallel.h"

#include <map>

#include "base/error.h"

namespace mlcp::models {
namespace {

using collectives::Communicator;
using collectives::DataType;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

DataType commType(const torch::Tensor& x, const char* what) {
  if (!x.device().is_cpu())
    throw InvalidArgument(std::string(what) +
                          ": tensor-parallel collectives move host memory; got a " +
                          x.device().str() + " tensor");
  if (x.scalar_type() == torch::kFloat32) return DataType::kFloat32;
  if (x.scalar_type() == torch::kFloat64) return DataType::kFloat64;
  throw InvalidArgument(std::string(what) + ": expected a float32 or float64 tensor, got " +
                        std::string(c10::toString(x.scalar_type())));
}

// [p, x.sizes()...]: rank r's x at index r. Works on a detached contiguous copy.
torch::Tensor allgatherStacked(const torch::Tensor& x, Communicator& comm, const char* what) {
  const DataType t = commType(x, what);
  auto in = x.detach().contiguous();
  std::vector<int64_t> sizes{comm.size()};
  for (auto s : in.sizes()) sizes.push_back(s);
  auto out = torch::empty(sizes, in.options());
  comm.allgather(in.data_ptr(), out.data_ptr(), in.numel(), t);
  return out;
}

// The communicator travels through the autograd context as an integer: IValue cannot hold a
// reference. The caller's contract (header) keeps it alive until backward has run.
void saveComm(AutogradContext* ctx, Communicator* comm) {
  ctx->saved_data["comm"] = static_cast<int64_t>(reinterpret_cast<intptr_t>(comm));
}
Communicator& savedComm(AutogradContext* ctx) {
  return *reinterpret_cast<Communicator*>(static_cast<intptr_t>(ctx->saved_data["comm"].toInt()));
}

struct CopyToTensorParallel : torch::autograd::Function<CopyToTensorParallel> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, Communicator* comm) {
    saveComm(ctx, comm);
    return x.view_as(x);
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    return {allreduceSumOrdered(g[0], savedComm(ctx)), torch::Tensor()};
  }
};

struct ReduceFromTensorParallel : torch::autograd::Function<ReduceFromTensorParallel> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, Communicator* comm) {
    return allreduceSumOrdered(x, *comm);
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    return {g[0], torch::Tensor()};
  }
};

struct GatherFromTensorParallel : torch::autograd::Function<GatherFromTensorParallel> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, Communicator* comm) {
    saveComm(ctx, comm);
    return allgatherLastDim(x, *comm);
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    return {splitLastDim(g[0], savedComm(ctx)), torch::Tensor()};
  }
};

struct ScatterToTensorParallel : torch::autograd::Function<ScatterToTensorParallel> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, Communicator* comm) {
    saveComm(ctx, comm);
    return splitLastDim(x, *comm);
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    return {allgatherLastDim(g[0], savedComm(ctx)), torch::Tensor()};
  }
};

// Forward: loss per row of the [N, V/p] local logits (see the header for the maths).
// Saved for backward: the local softmax, and per row the local column of the target (0 when
// the target is not in this rank's range) with a 0/1 flag saying whether it is.
struct VocabParallelCrossEntropyFn : torch::autograd::Function<VocabParallelCrossEntropyFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& logits,
                               const torch::Tensor& target, Communicator* comm, Operators ops) {
    const int64_t local_v = logits.size(-1);
    auto z = logits.reshape({-1, local_v});
    auto t = target.reshape({-1}).to(torch::kInt64);
    if (t.size(0) != z.size(0))
      throw InvalidArgument("vocabParallelCrossEntropy: " + std::to_string(t.size(0)) +
                            " targets for " + std::to_string(z.size(0)) + " rows of logits");
    const int64_t begin = comm->rank() * local_v, vocab = local_v * comm->size();
    if (t.numel() > 0) {
      const int64_t lo = t.min().item<int64_t>(), hi = t.max().item<int64_t>();
      if (lo < 0 || hi >= vocab)
        throw InvalidArgument("vocabParallelCrossEntropy: target " +
                              std::to_string(lo < 0 ? lo : hi) + " is outside the vocabulary [0, " +
                              std::to_string(vocab) + ")");
    }
    auto m = allreduceMax(std::get<0>(z.max(-1)), *comm);
    auto shifted = z - m.unsqueeze(1);
    auto e = ops.exp(shifted);
    auto sum_exp = allreduceSumOrdered(ops.rowSums(e), *comm);
    auto in_range = (t >= begin).logical_and(t < begin + local_v);
    auto local_t = torch::where(in_range, t - begin, torch::zeros_like(t));
    auto picked = shifted.gather(1, local_t.unsqueeze(1)).squeeze(1);
    auto target_logit =
        allreduceSumOrdered(torch::where(in_range, picked, torch::zeros_like(picked)), *comm);
    auto loss = ops.log(sum_exp) - target_logit;
    auto softmax = e / sum_exp.unsqueeze(1);
    ctx->save_for_backward({softmax, local_t, in_range.to(softmax.scalar_type())});
    ctx->saved_data["sizes"] = logits.sizes().vec();
    return loss.reshape(target.sizes());
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    auto saved = ctx->get_saved_variables();
    auto grad = saved[0].clone();
    grad.scatter_add_(1, saved[1].unsqueeze(1), -saved[2].unsqueeze(1));
    grad.mul_(g[0].reshape({-1, 1}));
    return {grad.reshape(ctx->saved_data["sizes"].toIntVector()), torch::Tensor(), torch::Tensor(),
            torch::Tensor()};
  }
};

int64_t checkedPart(int64_t total, int64_t parts, const std::string& what) {
  if (parts <= 0 || total % parts != 0)
    throw InvalidArgument(what + ": size " + std::to_string(total) + " is not divisible into " +
                          std::to_string(parts) + " equal parts");
  return total / parts;
}

// The tensor's logical size along spec.dim viewed as [groups, p, n]: returns n.
int64_t partSize(int64_t logical_size, const ShardSpec& s, int size, const std::string& what) {
  return checkedPart(logical_size, s.groups * size, what + " (" + toString(s) + ")");
}

}  // namespace

torch::Tensor allreduceSumOrdered(const torch::Tensor& x, Communicator& comm) {
  if (comm.size() == 1) return x.detach().clone();
  auto all = allgatherStacked(x, comm, "allreduceSumOrdered");
  auto acc = all[0].clone();
  for (int r = 1; r < comm.size(); ++r) acc.add_(all[r]);
  return acc;
}

torch::Tensor allreduceMax(const torch::Tensor& x, Communicator& comm) {
  const DataType t = commType(x, "allreduceMax");
  auto out = x.detach().contiguous().clone();
  comm.allreduce(out.data_ptr(), out.numel(), t, collectives::ReduceOp::kMax);
  return out;
}

torch::Tensor allgatherLastDim(const torch::Tensor& x, Communicator& comm) {
  if (comm.size() == 1) return x.detach().clone();
  auto all = allgatherStacked(x, comm, "allgatherLastDim");
  return torch::cat(all.unbind(0), -1);
}

torch::Tensor splitLastDim(const torch::Tensor& x, Communicator& comm) {
  const int64_t n = checkedPart(x.size(-1), comm.size(), "splitLastDim");
  return x.narrow(-1, comm.rank() * n, n).contiguous();
}

torch::Tensor copyToTensorParallel(const torch::Tensor& x, Communicator& comm) {
  return CopyToTensorParallel::apply(x, &comm);
}
torch::Tensor reduceFromTensorParallel(const torch::Tensor& x, Communicator& comm) {
  return ReduceFromTensorParallel::apply(x, &comm);
}
torch::Tensor gatherFromTensorParallel(const torch::Tensor& x, Communicator& comm) {
  return GatherFromTensorParallel::apply(x, &comm);
}
torch::Tensor scatterToTensorParallel(const torch::Tensor& x, Communicator& comm) {
  return ScatterToTensorParallel::apply(x, &comm);
}

torch::Tensor vocabParallelCrossEntropy(const torch::Tensor& logits, const torch::Tensor& target,
                                        Communicator& comm, const Operators& ops) {
  commType(logits, "vocabParallelCrossEntropy");
  return VocabParallelCrossEntropyFn::apply(logits, target, &comm, ops);
}

// ---- ShardSpec --------------------------------------------------------------------------------

std::string toString(const ShardSpec& s) {
  if (s.replicated()) return "replicated";
  return "split dim " + std::to_string(s.dim) +
         (s.groups > 1 ? " in " + std::to_string(s.groups) + " groups" : "");
}

torch::Tensor shardOf(const torch::Tensor& logical, const ShardSpec& s, int rank, int size) {
  if (s.replicated()) return logical.detach().clone();
  if (s.dim >= logical.dim())
    throw InvalidArgument("shardOf: dim " + std::to_string(s.dim) + " of a " +
                          std::to_string(logical.dim()) + "-d tensor");
  const int64_t n = partSize(logical.size(s.dim), s, size, "shardOf");
  const int64_t group = logical.size(s.dim) / s.groups;
  std::vector<torch::Tensor> parts;
  for (int64_t g = 0; g < s.groups; ++g)
    parts.push_back(logical.detach().narrow(s.dim, g * group + rank * n, n));
  return torch::cat(parts, s.dim).contiguous();
}

torch::Tensor logicalOf(const std::vector<torch::Tensor>& shards, const ShardSpec& s) {
  if (shards.empty()) throw InvalidArgument("logicalOf: no shards");
  if (s.replicated()) return shards[0].detach().clone();
  const int64_t shard_size = shards[0].size(s.dim);
  const int64_t n = checkedPart(shard_size, s.groups, "logicalOf (" + toString(s) + ")");
  std::vector<torch::Tensor> parts;
  for (int64_t g = 0; g < s.groups; ++g)
    for (const auto& sh : shards) {
      if (!sh.sizes().equals(shards[0].sizes()))
        throw InvalidArgument("logicalOf: shards of different shapes");
      parts.push_back(sh.detach().narrow(s.dim, g * n, n));
    }
  return torch::cat(parts, s.dim).contiguous();
}

torch::Tensor gatherLogical(const torch::Tensor& shard, const ShardSpec& s, Communicator& comm) {
  if (s.replicated() || comm.size() == 1) return shard.detach().clone();
  auto all = allgatherStacked(shard, comm, "gatherLogical");
  return logicalOf(all.unbind(0), s);
}

std::vector<ParameterShard> parameterShards(torch::nn::Module& model) {
  // Specs by full name, from every module that declares its own parameters' layouts.
  std::map<std::string, ShardSpec> specs;
  for (const auto& item : model.named_modules()) {
    const auto* sharded = dynamic_cast<const ShardedModule*>(item.value().get());
    if (sharded == nullptr) continue;
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false)) {
      const std::string full = item.key().empty() ? p.key() : item.key() + "." + p.key();
      specs[full] = sharded->shardSpec(p.key());
    }
  }
  std::vector<ParameterShard> out;
  for (const auto& p : model.named_parameters()) {
    auto it = specs.find(p.key());
    out.push_back({p.key(), p.value(), it == specs.end() ? ShardSpec{} : it->second});
  }
  return out;
}

void loadLogicalParameters(torch::nn::Module& model,
                           const std::vector<std::pair<std::string, torch::Tensor>>& logical,
                           int rank, int size) {
  std::map<std::string, torch::Tensor> by_name(logical.begin(), logical.end());
  auto shards = parameterShards(model);
  if (by_name.size() != shards.size())
    throw InvalidArgument("loadLogicalParameters: " + std::to_string(logical.size()) +
                          " logical tensors for a model with " + std::to_string(shards.size()) +
                          " parameters");
  torch::NoGradGuard no_grad;
  for (auto& p : shards) {
    auto it = by_name.find(p.name);
    if (it == by_name.end())
      throw InvalidArgument("loadLogicalParameters: no logical tensor named '" + p.name + "'");
    auto slice = shardOf(it->second, p.spec, rank, size);
    if (!slice.sizes().equals(p.shard.sizes()))
      throw InvalidArgument("loadLogicalParameters: '" + p.name + "' has logical shape " +
                            c10::str(it->second.sizes()) + ", whose " + toString(p.spec) +
                            " shard " + c10::str(slice.sizes()) + " does not fit the parameter " +
                            c10::str(p.shard.sizes()));
    p.shard.copy_(slice);
  }
}

std::vector<std::pair<std::string, torch::Tensor>> gatherLogicalParameters(torch::nn::Module& model,
                                                                           Communicator& comm) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : parameterShards(model))
    out.emplace_back(p.name, gatherLogical(p.shard, p.spec, comm));
  return out;
}

std::vector<float> logicalGradNorms(torch::nn::Module& model, Communicator& comm,
                                    const Operators& ops) {
  std::vector<float> out;
  for (const auto& p : parameterShards(model)) {
    // Every rank takes part in every gather, so a gradient missing on one rank cannot
    // desynchronise the group: a missing gradient gathers as zeros.
    auto g = p.shard.grad().defined() ? p.shard.grad() : torch::zeros_like(p.shard);
    out.push_back(ops.l2Norm(gatherLogical(g, p.spec, comm)));
  }
  return out;
}

// ---- Layers -----------------------------------------------------------------------------------
// Parameters are allocated uninitialised (no draws from the generator): their values come from
// the unsharded model through loadLogicalParameters.

ColumnParallelLinear::ColumnParallelLinear(int64_t in_features, int64_t out_features,
                                           bool with_bias, bool gather_output, Communicator* comm,
                                           int64_t groups, Operators ops)
    : comm_(comm), groups_(groups), gather_output_(gather_output), ops_(ops) {
  if (gather_output && groups != 1)
    throw InvalidArgument("ColumnParallelLinear: gather_output needs groups = 1 (a gathered " +
                          std::to_string(groups) + "-group output would interleave the groups)");
  out_local_ = groups * partSize(out_features, ShardSpec{0, groups}, groupSize(comm),
                                 "ColumnParallelLinear out_features");
  weight = register_parameter("weight", torch::empty({out_local_, in_features}));
  if (with_bias) bias = register_parameter("bias", torch::empty({out_local_}));
}

torch::Tensor ColumnParallelLinear::forward(const torch::Tensor& x) {
  if (comm_ == nullptr) return ops_.linear(x, weight, bias);
  auto y = ops_.linear(copyToTensorParallel(x, *comm_), weight, bias);
  return gather_output_ ? gatherFromTensorParallel(y, *comm_) : y;
}

ShardSpec ColumnParallelLinear::shardSpec(const std::string&) const { return {0, groups_}; }

RowParallelLinear::RowParallelLinear(int64_t in_features, int64_t out_features, bool with_bias,
                                     bool input_is_parallel, Communicator* comm, Operators ops)
    : comm_(comm), input_is_parallel_(input_is_parallel), ops_(ops) {
  const int64_t in_local =
      partSize(in_features, ShardSpec{1, 1}, groupSize(comm), "RowParallelLinear in_features");
  weight = register_parameter("weight", torch::empty({out_features, in_local}));
  if (with_bias) bias = register_parameter("bias", torch::empty({out_features}));
}

torch::Tensor RowParallelLinear::forward(const torch::Tensor& x) {
  if (comm_ == nullptr) return ops_.linear(x, weight, bias);
  auto xi = input_is_parallel_ ? x : scatterToTensorParallel(x, *comm_);
  auto y = reduceFromTensorParallel(ops_.linear(xi, weight), *comm_);
  return bias.defined() ? ops_.biasAdd(y, bias) : y;
}

ShardSpec RowParallelLinear::shardSpec(const std::string& local_name) const {
  return local_name == "weight" ? ShardSpec{1, 1} : ShardSpec{};
}

VocabParallelEmbedding::VocabParallelEmbedding(int64_t vocab, int64_t dim, Communicator* comm,
                                               Operators ops)
    : comm_(comm), ops_(ops) {
  const int64_t n =
      partSize(vocab, ShardSpec{0, 1}, groupSize(comm), "VocabParallelEmbedding vocab");
  begin_ = groupRank(comm) * n;
  end_ = begin_ + n;
  weight = register_parameter("weight", torch::empty({n, dim}));
}

torch::Tensor VocabParallelEmbedding::forward(const torch::Tensor& tokens) {
  if (comm_ == nullptr) return ops_.embedding(tokens, weight);
  auto in_range = (tokens >= begin_).logical_and(tokens < end_);
  auto local = torch::where(in_range, tokens - begin_, torch::zeros_like(tokens));
  auto e = ops_.embedding(local, weight);
  // Zero (not masked_fill) the rows of foreign tokens: their gradient into row 0 is then 0.
  e = e * in_range.unsqueeze(-1).to(e.scalar_type());
  return reduceFromTensorParallel(e, *comm_);
}

ShardSpec VocabParallelEmbedding::shardSpec(const std::string&) const { return {0, 1}; }

}  // namespace mlcp::models
