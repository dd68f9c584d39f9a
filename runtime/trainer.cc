#include "runtime/trainer.h"

#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>

#include <fmt/format.h>

#include "collectives/exact_sum.h"
#include "data/sample_order.h"
#include "models/gpt_tp.h"
#include "models/layer_model.h"
#include "models/tensor_parallel.h"
#include "partition/device_profile.h"
#include "partition/mesh.h"
#include "partition/partitioner.h"
#include "partition/schedule.h"
#include "runtime/background_worker.h"
#include "runtime/checkpointer.h"
#include "runtime/error.h"
#include "runtime/job_setup.h"
#include "runtime/lr_schedule.h"
#include "runtime/metrics.h"
#include "runtime/pipeline_executor.h"
#include "runtime/progress.h"
#include "runtime/stop_signal.h"
#include "runtime/training_state.h"
#include "verify/checkpoint.h"

namespace mlcp::runtime {

using collectives::Communicator;
using collectives::DataType;
using collectives::ReduceOp;

namespace {

// Samples per logical evaluation batch: a constant of the program, never of the placement, so
// every evaluation batch has the same contents and shape on any number of ranks.
constexpr int64_t kEvalBatch = 500;

// [begin, end) of the M logical micro-batches that data-parallel rank r of D runs: contiguous,
// as equal as possible, the first M % D ranks one more.
std::pair<int64_t, int64_t> microBatchRange(int64_t m, int r, int d) {
  const int64_t base = m / d, extra = m % d;
  const int64_t begin = r * base + std::min<int64_t>(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

// Sums a vector in which every slot was written by exactly one rank (zeros elsewhere): adding
// zeros is exact, so the SUM allreduce gives the same bits on any placement; the caller then
// combines slots in index order.
std::vector<double> gatherSlots(Communicator& comm, std::vector<double> slots,
                                const collectives::CollectiveOptions& opts) {
  comm.allreduce(slots.data(), static_cast<int64_t>(slots.size()), DataType::kFloat64,
                 ReduceOp::kSum, opts);
  return slots;
}

// Adds the wall time of its scope to `total`, unless an enclosing timer on the same total is
// already counting it (nested verification work is counted once).
class ScopeTimer {
 public:
  ScopeTimer(double& total, int& depth)
      : total_(total), depth_(depth), start_(std::chrono::steady_clock::now()) {
    ++depth_;
  }
  ~ScopeTimer() {
    if (--depth_ == 0) {
      total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }
  }
  ScopeTimer(const ScopeTimer&) = delete;
  ScopeTimer& operator=(const ScopeTimer&) = delete;

 private:
  double& total_;
  int& depth_;
  std::chrono::steady_clock::time_point start_;
};

std::string hexOf(const unsigned char* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += fmt::format("{:02x}", p[i]);
  return s;
}

}  // namespace

struct Trainer::State {
  jobs::JobSpec spec;
  Communicator& world;
  TrainerOptions options;
  collectives::CollectiveOptions coll;
  std::string run_dir;
  data::DataSplits data;
  std::shared_ptr<models::LayerModel> model;
  std::vector<std::pair<std::string, torch::Tensor>> params;  // all, in registration (name) order
  // The data x pipeline mesh (tp = 1) and this rank's place in it. With pp = 1 the data-parallel
  // group is the world and every rank holds every parameter.
  partition::MeshShape mesh;
  partition::MeshCoord coord;
  std::unique_ptr<Communicator> dp_owned, pp_owned, tp_owned;
  Communicator* dp = nullptr;  // this rank's data-parallel group
  Communicator* pp = nullptr;  // this replica's pipeline stages, rank = stage (pp > 1)
  Communicator* tp = nullptr;  // this stage's tensor-parallel group (tp > 1)
  std::vector<models::ShardSpec> param_spec;  // [param] -> how tp slices it (replicated at tp 1)
  std::unique_ptr<PipelineExecutor> pipeline;  // pp > 1
  partition::PipelineSchedule pipeline_schedule;
  std::vector<int> param_stage;   // [param] -> the pipeline stage that holds it
  std::vector<int> param_owner;   // [param] -> the world rank that hashes and saves it
  // The parameters this rank holds, reduces and updates ("owned"); owned_index[i] is param i's
  // position in owned (-1: another stage's).
  std::vector<std::pair<std::string, torch::Tensor>> owned;
  std::vector<int64_t> owned_global;  // [owned] -> param index
  std::vector<int64_t> owned_index;
  std::string plan_text;  // the placement, as the checkpoint manifest records it
  // [replica] -> its logical micro-batches [begin, end), contiguous, in replica order.
  std::vector<std::pair<int64_t, int64_t>> replica_micro_batches;
  double slowdown = 1.0;  // this rank's declared device slowdown (runtime.devices_file)
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  LrSchedule schedule;
  int64_t total_steps = 0;

  State(const jobs::JobSpec& s, Communicator& w, const TrainerOptions& o)
      : spec(s), world(w), options(o) {}

  EvalResult evaluate(int64_t step);
  // The mean loss of a micro-batch's logits (vocabulary-sharded under tp).
  torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& target) {
    return tp ? models::gptTpLoss(logits, target, *tp) : models::LayerModel::loss(logits, target);
  }
  // A tensor of param i's (or of its optimizer state) in the logical layout: gathered over the
  // tp group (collective: every tp rank of the stage calls it in the same order).
  torch::Tensor logical(size_t i, const torch::Tensor& t) {
    if (!tp || t.dim() == 0 || param_spec[i].replicated()) return t;
    return models::gatherLogical(t.contiguous(), param_spec[i], *tp);
  }
  // This rank's slice of a logical tensor of param i.
  torch::Tensor slice(size_t i, const torch::Tensor& t) const {
    if (!tp || t.dim() == 0 || param_spec[i].replicated()) return t;
    return models::shardOf(t, param_spec[i], tp->rank(), tp->size());
  }
  // The parameter a state entry ("params/<p>", "optim/<p>/<x>") belongs to; -1 for others.
  int64_t paramOfEntry(const std::string& entry) const {
    for (size_t i = 0; i < params.size(); ++i) {
      const auto& n = params[i].first;
      if (entry == "params/" + n || entry.rfind("optim/" + n + "/", 0) == 0) return static_cast<int64_t>(i);
    }
    return -1;
  }
  // The tensors the per-step hash covers that this rank owns (logical layout), by param index.
  std::vector<torch::Tensor> hashSources();
  std::vector<int64_t> logicalShape(size_t i) const {
    std::vector<int64_t> shape(params[i].second.sizes().begin(), params[i].second.sizes().end());
    if (tp && !param_spec[i].replicated()) shape[static_cast<size_t>(param_spec[i].dim)] *= tp->size();
    return shape;
  }
  // Clips the owned gradients to the job's global norm over every parameter (all stages);
  // the same float operations as torch::nn::utils::clip_grad_norm_, on any placement.
  void clipGradients();
  // The per-step state digest, in two parts: this rank's share of the parameter hashes (no
  // communication: it may run on a helper thread), then their combination (collective).
  static std::string localParameterHashes(const std::vector<torch::Tensor>& sources);
  verify::Hash256 combineParameterHashes(const std::string& mine);
  verify::Hash256 stateDigest() { return combineParameterHashes(localParameterHashes(hashSources())); }
  std::string writeFinalState(const std::string& path);
};

Trainer::Trainer(const jobs::JobSpec& spec, Communicator& world, const TrainerOptions& options)
    : s_(std::make_unique<State>(spec, world, options)) {
  auto& s = *s_;
  s.coll.timeout = std::chrono::milliseconds(
      static_cast<int64_t>(spec.runtime.collective_timeout_s * 1000.0));
  s.run_dir = options.output_dir.empty() ? spec.output_dir : options.output_dir;

  // Intra-op threads are part of the logical program: some LibTorch CPU kernels split
  // reductions by thread count (docs/determinism.md).
  torch::set_num_threads(static_cast<int>(spec.runtime.intra_op_threads));

  s.data = loadJobData(spec);

  // The mesh, its communicators and the layers of this rank's pipeline stage.
  const int world_size = world.size(), pp = static_cast<int>(spec.parallel.pp);
  const int tp = static_cast<int>(spec.parallel.tp);
  jobs::checkWorldSize(spec, world_size);
  s.mesh = {world_size / (pp * tp), pp, tp};
  const partition::MeshLayout layout(s.mesh, world_size);
  s.coord = layout.coords(world.rank());
  if (tp > 1) {
    // Tensor parallelism: each rank of a tp group holds slices of the GPT's matrices
    // (models/gpt_tp.h); the slices are exact pieces of the tp = 1 initial parameters.
    models::checkGptTensorParallel(spec.model, s.data.num_classes, tp);
    const auto t = layout.split(partition::MeshDim::kTensor, world.rank());
    s.tp_owned = world.split(t.color, t.key);
    s.tp = s.tp_owned.get();
    s.model = models::buildGptTp(spec.model, s.data.num_classes, spec.seed, *s.tp);
  } else {
    s.model = models::buildModel(spec.model, s.data.num_classes, spec.seed);
  }
  for (const auto& item : s.model->named_parameters()) s.params.emplace_back(item.key(), item.value());
  for (const auto& shard : models::parameterShards(*s.model)) s.param_spec.push_back(shard.spec);
  s.param_stage.assign(s.params.size(), 0);
  // The partitioner's plan (identical devices unless runtime.devices_file says otherwise; any
  // plan gives the same numbers, it only moves work): layer ranges per stage, and micro-batch
  // shares per replica proportional to speed. Without pipelining or devices: equal shares.
  std::optional<partition::Plan> plan;
  if (pp > 1 || !spec.runtime.devices_file.empty()) {
    auto input = planInputFor(spec, *s.model, world_size);
    if (spec.runtime.devices_file.empty() && world_size > 1) {
      // Each rank measures its device at start; every rank plans with all the measurements.
      // Speeds within 25% of the median count as the median, so identical machines (whose
      // measurements differ by noise) plan alike, while a 2x slower device is seen.
      std::vector<double> gflops(static_cast<size_t>(world_size), 0.0);
      gflops[static_cast<size_t>(world.rank())] = measureMatmulGflops(modelWidth(spec.model));
      world.allreduce(gflops.data(), world_size, DataType::kFloat64, ReduceOp::kSum, s.coll);
      auto sorted = gflops;
      std::sort(sorted.begin(), sorted.end());
      const double median = sorted[sorted.size() / 2];
      const int64_t memory = availableMemoryBytes() / world_size;
      int64_t least_memory = memory;
      world.allreduce(&least_memory, 1, DataType::kInt64, ReduceOp::kMin, s.coll);
      input.devices.clear();
      for (double g : gflops) {
        partition::DeviceProfile d;
        d.name = "measured";
        d.gflops = std::abs(g / median - 1.0) <= 0.25 ? median : g;
        d.memory_bytes = least_memory;
        input.devices.push_back(d);
      }
    }
    input.balance = options.balance_plan;
    plan = partition::makePlan(input);
    if (!spec.runtime.devices_file.empty()) {
      s.slowdown = input.devices.at(static_cast<size_t>(world.rank())).slowdown;
    }
  }
  for (int d = 0, begin = 0; d < s.mesh.dp; ++d) {
    const auto equal = microBatchRange(spec.train.micro_batches, d, s.mesh.dp);
    const int64_t count = plan ? plan->replicas.at(static_cast<size_t>(d)).micro_batches
                               : equal.second - equal.first;
    s.replica_micro_batches.emplace_back(begin, begin + count);
    begin += static_cast<int>(count);
  }
  if (pp == 1 && tp == 1) {
    s.dp = &world;
    s.plan_text = fmt::format("data-parallel over {} ranks", world_size);
  } else {
    const auto d = layout.split(partition::MeshDim::kData, world.rank());
    s.dp_owned = world.split(d.color, d.key);
    s.dp = s.dp_owned.get();
    s.plan_text = fmt::format("dp {} x tp {}", s.mesh.dp, tp);
  }
  if (pp > 1) {
    const auto q = layout.split(partition::MeshDim::kPipeline, world.rank());
    s.pp_owned = world.split(q.color, q.key);
    s.pp = s.pp_owned.get();
    StageLayout stage;
    stage.stage = s.coord.pp;
    stage.stages = pp;
    stage.virtual_stages = static_cast<int>(spec.parallel.virtual_stages);
    std::vector<int> layer_stage(static_cast<size_t>(s.model->numLayers()), 0);
    std::string ranges;
    for (const auto& sp : plan->stages) {
      for (int l = sp.first_layer; l < sp.end_layer; ++l) layer_stage[static_cast<size_t>(l)] = sp.stage;
      if (sp.stage == s.coord.pp) stage.chunks.emplace_back(sp.first_layer, sp.end_layer);
      ranges += fmt::format("{}layers {}..{} on stage {}", ranges.empty() ? "" : ", ",
                            sp.first_layer, sp.end_layer - 1, sp.stage);
    }
    for (size_t i = 0; i < s.params.size(); ++i) {
      s.param_stage[i] = layer_stage.at(static_cast<size_t>(layerOfParameter(s.params[i].first)));
    }
    // Activation shapes at stage boundaries, from one real micro-batch (every rank alike).
    const int64_t mb_size = spec.train.global_batch / spec.train.micro_batches;
    std::vector<int64_t> probe_idx;
    for (int64_t i = 0; i < mb_size; ++i) probe_idx.push_back(i);
    auto shapes = probeActivationShapes(*s.model, s.data.train->batch(probe_idx).input);
    s.pipeline = std::make_unique<PipelineExecutor>(*s.model, *s.pp, stage, std::move(shapes), mb_size);
    s.pipeline->setSlowdown(s.slowdown);
    if (tp > 1) s.pipeline->setLoss([&s](const torch::Tensor& logits, const torch::Tensor& target) {
      return models::gptTpLoss(logits, target, *s.tp);
    });
    s.plan_text = fmt::format("dp {} x pp {} x tp {} ({} schedule, {} virtual stages): {}", s.mesh.dp, pp,
                              tp, spec.parallel.schedule, stage.virtual_stages, ranges);
  }
  s.param_owner.resize(s.params.size());
  s.owned_index.assign(s.params.size(), -1);
  for (size_t i = 0; i < s.params.size(); ++i) {
    // Parameter i is hashed and saved by data-parallel replica i mod dp of its stage.
    s.param_owner[i] = layout.rank({static_cast<int>(i % static_cast<size_t>(s.mesh.dp)), s.param_stage[i], 0});
    if (s.param_stage[i] != s.coord.pp) continue;
    s.owned_index[i] = static_cast<int64_t>(s.owned.size());
    s.owned.push_back(s.params[i]);
    s.owned_global.push_back(static_cast<int64_t>(i));
  }
  std::vector<torch::Tensor> tensors;
  for (auto& p : s.owned) tensors.push_back(p.second);
  s.optimizer = makeOptimizer(spec.optimizer, tensors);

  const int64_t job_steps = jobSteps(spec, s.data.train->size());
  // --max-steps (tests, replays) stops early; it never changes the logical program, so the
  // schedule's horizon stays the job's.
  s.total_steps = options.max_steps >= 0 ? std::min(job_steps, options.max_steps) : job_steps;
  s.schedule = makeSchedule(spec, job_steps);
}

Trainer::~Trainer() = default;

EvalResult Trainer::State::evaluate(int64_t step) {
  EvalResult r;
  r.step = step;
  const int64_t n = data.eval->size();
  const int64_t batches = (n + kEvalBatch - 1) / kEvalBatch;
  auto [begin, end] = microBatchRange(batches, coord.dp, mesh.dp);
  // Slot layout: [loss sum of batch i | correct count of batch i].
  std::vector<double> slots(static_cast<size_t>(2 * batches), 0.0);
  model->eval();
  {
    torch::NoGradGuard no_grad;
    for (int64_t b = begin; b < end; ++b) {
      std::vector<int64_t> idx;
      for (int64_t i = b * kEvalBatch; i < std::min(n, (b + 1) * kEvalBatch); ++i) idx.push_back(i);
      auto batch = data.eval->batch(idx);
      // A pipeline passes the batch through the stages; the last one scores it.
      auto logits = pipeline ? pipeline->evalForward(batch.input, static_cast<int64_t>(idx.size()), coll)
                             : model->forward(batch.input);
      if (!logits.defined()) continue;
      if (tp) logits = models::allgatherLastDim(logits, *tp);  // vocabulary-sharded
      if (coord.tp != 0) continue;  // one writer per slot
      auto flat = logits.reshape({-1, logits.size(-1)});
      auto target = batch.target.reshape({-1});
      auto loss = torch::nn::functional::cross_entropy(
          flat, target, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
      slots[static_cast<size_t>(b)] = loss.item<double>();
      slots[static_cast<size_t>(batches + b)] =
          static_cast<double>(flat.argmax(-1).eq(target).sum().item<int64_t>());
    }
  }
  model->train();
  slots = gatherSlots(world, std::move(slots), coll);
  double loss_sum = 0, correct = 0;
  for (int64_t b = 0; b < batches; ++b) {
    loss_sum += slots[static_cast<size_t>(b)];
    correct += slots[static_cast<size_t>(batches + b)];
  }
  // Predictions per sample: 1 for a classifier, context positions for a language model.
  const auto probe = data.eval->batch({0});
  const int64_t per_sample = probe.target.numel();
  r.samples = n;
  r.loss = loss_sum / static_cast<double>(n * per_sample);
  r.accuracy = correct / static_cast<double>(n * per_sample);
  return r;
}

// The per-step state digest: BLAKE2b-256 over the name-ordered list of the parameters' tensor
// hashes. Parameter i is hashed by its owner (param_owner: replica i mod dp of the stage that
// holds it — rank i mod size without pipelining), the hashes are gathered, and every rank
// combines them in the same order. The run records the chain
// c_s = BLAKE2b(c_{s-1} || digest_s), c_0 = digest of the initial state, so a replay can name
// the first step whose state differs.
std::vector<torch::Tensor> Trainer::State::hashSources() {
  std::vector<torch::Tensor> out(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    if (param_stage[i] != coord.pp) continue;
    auto t = logical(i, params[i].second.detach());
    if (param_owner[i] == world.rank()) out[i] = t;
  }
  return out;
}

std::string Trainer::State::localParameterHashes(const std::vector<torch::Tensor>& sources) {
  std::string mine;
  for (const auto& t : sources) {
    if (!t.defined()) continue;
    const auto h = verify::hashTensor(verify::DType::kFloat32,
                                      std::vector<int64_t>(t.sizes().begin(), t.sizes().end()),
                                      t.data_ptr(), static_cast<size_t>(t.nbytes()));
    mine += h.hex();
  }
  return mine;
}

verify::Hash256 Trainer::State::combineParameterHashes(const std::string& mine) {
  const auto parts = allgatherStrings(world, mine, coll);
  std::string ordered;
  std::vector<size_t> cursor(parts.size(), 0);
  for (size_t i = 0; i < params.size(); ++i) {
    const size_t r = static_cast<size_t>(param_owner[i]);
    ordered += parts[r].substr(cursor[r], 64);
    cursor[r] += 64;
  }
  return verify::blake2b256(ordered);
}

std::string Trainer::State::writeFinalState(const std::string& path) {
  // Format (little-endian): "MLCPPAR1", u64 count, then per parameter: u64 name length, name,
  // u64 ndim, i64 dims..., u64 byte count, float32 data. The hash is BLAKE2b-256 of the file.
  // Rank 0 writes it; a parameter held by another pipeline stage comes from its owner. Under
  // tp every parameter is gathered to its logical layout first.
  constexpr int kFinalStateTag = 0x5A20;
  std::string bytes = "MLCPPAR1";
  auto put64 = [&bytes](uint64_t v) { bytes.append(reinterpret_cast<const char*>(&v), 8); };
  put64(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& name = params[i].first;
    auto c = param_stage[i] == coord.pp ? logical(i, params[i].second.detach()).contiguous()
                                        : torch::Tensor();
    if (param_stage[i] != 0) {  // rank 0 (stage 0) does not hold it
      if (world.rank() == param_owner[i]) {
        world.send(c.data_ptr(), c.numel(), DataType::kFloat32, 0, kFinalStateTag, coll);
      }
      if (world.rank() == 0) {
        c = torch::empty(logicalShape(i), torch::kFloat32);
        world.recv(c.data_ptr(), c.numel(), DataType::kFloat32, param_owner[i], kFinalStateTag, coll);
      }
    }
    if (world.rank() != 0) continue;
    put64(name.size());
    bytes += name;
    put64(static_cast<uint64_t>(c.dim()));
    for (int64_t d : c.sizes()) put64(static_cast<uint64_t>(d));
    const size_t nbytes = static_cast<size_t>(c.numel()) * c.element_size();
    put64(nbytes);
    bytes.append(static_cast<const char*>(c.data_ptr()), nbytes);
  }
  if (world.rank() != 0) return "";
  unsigned char h[32];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size(), nullptr, 0);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw IoError("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
  return hexOf(h, sizeof h);
}

void Trainer::State::clipGradients() {
  // Per-parameter norms in global parameter order; within a replica each stage writes its own
  // slots and the others are zero, so the SUM over the pipeline group is exact.
  std::vector<float> norms(params.size(), 0.0f);
  if (tp) {
    // Norms of the logical gradients (gathered over tp): zeros for other stages' parameters.
    norms = models::logicalGradNorms(*model, *tp);
    for (size_t i = 0; i < params.size(); ++i) {
      if (param_stage[i] != coord.pp) norms[i] = 0.0f;
    }
  } else {
    for (size_t k = 0; k < owned.size(); ++k) {
      norms[static_cast<size_t>(owned_global[k])] = owned[k].second.grad().norm(2).item<float>();
    }
  }
  if (pp != nullptr) {
    pp->allreduce(norms.data(), static_cast<int64_t>(norms.size()), DataType::kFloat32, ReduceOp::kSum, coll);
  }
  std::vector<torch::Tensor> owned_tensors;
  for (auto& p : owned) owned_tensors.push_back(p.second);
  clipGradNorm(owned_tensors, norms, spec.optimizer.grad_clip);
}

TrainResult Trainer::run() {
  auto& s = *s_;
  const auto& spec = s.spec;
  const int rank = s.world.rank(), size = s.world.size();
  std::error_code ec;
  std::filesystem::create_directories(s.run_dir, ec);
  if (ec) throw IoError("cannot create output directory " + s.run_dir + ": " + ec.message());
  MetricsWriter metrics(s.run_dir, rank, !s.options.start_checkpoint.empty());
  ProgressReporter progress(rank == 0 && !s.options.quiet, s.options.show_progress, s.total_steps,
                            spec.train.log_every);

  const int64_t m = spec.train.micro_batches;
  data::MicroBatchPlan plan(spec.seed, s.data.train->size(), spec.train.global_batch, m);
  // This replica's share of the micro-batches (all pipeline stages of a replica run the same).
  const auto [mb_begin, mb_end] = s.replica_micro_batches.at(static_cast<size_t>(s.coord.dp));
  if (s.pipeline) {
    s.pipeline_schedule = partition::scheduleFor(spec.parallel.schedule, s.mesh.pp,
                                                 static_cast<int>(mb_end - mb_begin),
                                                 static_cast<int>(spec.parallel.virtual_stages));
  }

  if (rank == 0) {
    progress.message(fmt::format(
        "mlcp: training {} ({} parameters) on {} ranks x {} threads | data {} | {} steps of {} "
        "samples in {} micro-batches",
        spec.model.kind, s.model->numParameters(), size, spec.runtime.intra_op_threads,
        s.data.train->describe(), s.total_steps, spec.train.global_batch, m));
    if (s.pipeline) progress.message("mlcp: " + s.plan_text);
  }
  metrics.write("start", {{"ranks", size},
                          {"pid", static_cast<int64_t>(getpid())},
                          {"micro_batches", {mb_begin, mb_end}},
                          {"plan", s.plan_text},
                          {"stage", s.coord.pp},
                          {"parameters", s.model->numParameters()},
                          {"steps", s.total_steps}});

  // Each local micro-batch's gradient: the .grad tensors its backward produced, taken over
  // (the next backward starts from no gradient and allocates its own), so nothing is copied.
  // [local micro-batch][owned parameter]. The exact sum writes the mean into the .grad tensors.
  // (Declared before the reducer, whose helper thread may still read them while it is destroyed.)
  std::vector<std::vector<torch::Tensor>> contributions(
      static_cast<size_t>(mb_end - mb_begin), std::vector<torch::Tensor>(s.owned.size()));
  auto contributionPointers = [&](int64_t j) {
    std::vector<const float*> ptrs;
    for (auto& g : contributions[static_cast<size_t>(j - mb_begin)]) ptrs.push_back(g.data_ptr<float>());
    return ptrs;
  };
  // Over the data-parallel group, for the parameters this rank's stage holds: segment-wise,
  // so the sums are the bits of a one-process run's. Without a pipeline each micro-batch's
  // gradient is handed to it as soon as its backward is done (ExactSum::add): on one rank the
  // quantising then runs on a helper thread during the next micro-batch.
  collectives::ExactSum reducer(*s.dp, [&] {
    std::vector<int64_t> sizes;
    for (auto& p : s.owned) sizes.push_back(p.second.numel());
    return sizes;
  }());

  TrainResult result;
  int64_t start = 0;
  torch::Tensor resumed_chain;  // the state-hash chain stored in the checkpoint
  if (!s.options.start_checkpoint.empty()) {
    auto reader = verify::CheckpointReader::open(s.options.start_checkpoint);
    resumed_chain = readCheckpointTensor(reader, "train/state_chain");
    start = restoreTrainingState(s.owned, *s.optimizer, [&](const std::string& name) {
      const int64_t pi = s.paramOfEntry(name);
      auto t = readCheckpointTensor(reader, name);
      return pi >= 0 && t.defined() ? s.slice(static_cast<size_t>(pi), t) : t;
    });
    progress.message(fmt::format("mlcp: resumed from {} (step {}, root {})",
                                 s.options.start_checkpoint, start, reader.root().hex()));
  }
  result.start_step = start;
  verify::Hash256 chain = s.stateDigest();
  if (resumed_chain.defined()) {
    std::memcpy(chain.bytes.data(), resumed_chain.data_ptr(), chain.bytes.size());
  }
  auto extend = [](const verify::Hash256& prev, const verify::Hash256& digest) {
    return verify::blake2b256(prev.hex() + digest.hex());
  };
  // The state hash of a finished step is computed on a helper thread while the next step's
  // forward and backward run: they only read the parameters, and nothing writes them before
  // finishPendingHash() — called before every optimizer update, checkpoint and return — joins
  // it, combines the ranks' shares (collective, on this thread) and writes the step's record.
  BackgroundWorker hash_worker;  // declared before `pending`, whose future it fulfils
  struct PendingHash {
    std::future<std::string> local;
    nlohmann::json record;
    bool active = false;
  } pending;
  // The step loop's own time on verification — state hashes and checkpoints, not the work they
  // hand to background threads: their whole cost where spare cores run that work.
  int verification_depth = 0;
  auto verificationTimer = [&] { return ScopeTimer(result.verification_seconds, verification_depth); };
  auto finishPendingHash = [&] {
    if (!pending.active) return;
    pending.active = false;
    {
      const auto timer = verificationTimer();
      const verify::Hash256 digest = s.combineParameterHashes(pending.local.get());
      chain = extend(chain, digest);
      pending.record["state_hash"] = digest.hex();
      pending.record["state_chain"] = chain.hex();
    }
    metrics.write("step", std::move(pending.record));  // the step's record, as without hashes
  };
  partition::TraceRecorder* const timeline = s.options.timeline;
  constexpr int kStepLane = 100;  // reduction, update, checkpoints; lanes 0.. are chunks
  if (timeline) {
    timeline->nameProcess(rank, fmt::format("rank {} (replica {}, stage {})", rank, s.coord.dp, s.coord.pp));
    timeline->nameThread(rank, 0, s.pipeline ? "chunk 0" : "micro-batches");
    for (int c = 1; c < static_cast<int>(spec.parallel.virtual_stages) && s.pipeline; ++c) {
      timeline->nameThread(rank, c, fmt::format("chunk {}", c));
    }
    timeline->nameThread(rank, kStepLane, "reduce / update / checkpoint");
  }
  Checkpointer checkpointer(s.run_dir, s.world,
                            rank == 0 ? loadOrCreateNodeKey(spec.checkpoint.key_file, !s.options.quiet)
                                      : verify::KeyPair::generate(),
                            spec.source_text, spec.source_path, s.plan_text, s.coll,
                            spec.checkpoint.keep);
  // Checkpoints are written in the background (runtime/checkpointer.h): checkpoint(step) hands
  // the state to the checkpointer and returns; each step's loss allreduce carries whether every
  // rank's part of the checkpoint in flight is done, and when it is, the checkpoint moves on
  // (shards on disk -> rank 0 commits -> committed). commitCheckpoint() finishes it at once,
  // before anything that needs it: the next checkpoint, a stop, the end of the run. Only a
  // committed checkpoint is reported, published (on_checkpoint) and recorded in the metrics.
  auto reportCheckpoint = [&](int64_t step, const verify::Hash256& root) {
    if (s.options.on_checkpoint) {
      // Rank 0 runs the hook; every rank learns whether it failed, so none is left waiting.
      std::exception_ptr failure;
      if (rank == 0) {
        try {
          s.options.on_checkpoint(step, root);
        } catch (...) {
          failure = std::current_exception();
        }
      }
      int32_t failed = failure ? 1 : 0;
      s.world.allreduce(&failed, 1, DataType::kInt32, ReduceOp::kMax, s.coll);
      if (failure) std::rethrow_exception(failure);
      if (failed != 0) {
        throw ChainError(fmt::format("rank 0 could not publish checkpoint {} (its error is above)", step));
      }
    }
    result.checkpoint_root = root.hex();
    result.checkpoint_dir = verify::checkpointDir(s.run_dir, step);
    progress.message(fmt::format("checkpoint step {}: root {}", step, root.hex()));
    metrics.write("checkpoint", {{"step", step}, {"root", root.hex()}});
  };
  auto advanceCheckpoint = [&] {  // collective; every rank's part of the phase is done
    const auto timer = verificationTimer();
    const int64_t step = checkpointer.inFlightStep();
    if (auto root = checkpointer.advance()) reportCheckpoint(step, *root);
  };
  auto commitCheckpoint = [&] {
    if (!checkpointer.inFlight()) return;
    const auto timer = verificationTimer();
    const int64_t step = checkpointer.inFlightStep();
    const int span = timeline ? timeline->begin(fmt::format("commit {}", step), "checkpoint", kStepLane) : -1;
    const auto root = checkpointer.finish();
    if (timeline) timeline->end(span);
    reportCheckpoint(step, root);
  };
  auto checkpoint = [&](int64_t step) {
    const auto timer = verificationTimer();
    finishPendingHash();  // the checkpoint stores the chain up to this step
    if (!s.options.write_checkpoints) return;
    commitCheckpoint();  // one in flight at a time
    const int span = timeline ? timeline->begin(fmt::format("checkpoint {}", step), "checkpoint", kStepLane) : -1;
    auto state = collectTrainingState(s.owned, *s.optimizer, step);
    auto chain_bytes = torch::empty({static_cast<int64_t>(chain.bytes.size())}, torch::kUInt8);
    std::memcpy(chain_bytes.data_ptr(), chain.bytes.data(), chain.bytes.size());
    state.push_back({"train/state_chain", chain_bytes});
    // This rank writes tensor i of its stage's state when i mod dp is its replica index; the
    // job-wide tensors (train/...) come from stage 0 only. Every tensor is written once.
    for (auto& e : state) {  // the logical layout (collective over tp, same order everywhere)
      const int64_t pi = s.paramOfEntry(e.name);
      if (pi >= 0) e.tensor = s.logical(static_cast<size_t>(pi), e.tensor);
    }
    std::vector<NamedTensor> mine;
    for (size_t i = 0; i < state.size() && s.coord.tp == 0; ++i) {
      if (static_cast<int>(i % static_cast<size_t>(s.mesh.dp)) != s.coord.dp) continue;
      if (state[i].name.rfind("train/", 0) == 0 && s.coord.pp != 0) continue;
      mine.push_back(state[i]);
    }
    checkpointer.begin(step, std::move(mine));
    if (timeline) timeline->end(span);
  };
  const int64_t every = spec.checkpoint.every;
  // The seed's state is checkpoint 0: the point every party agrees on before any work.
  if (every > 0 && start == 0) checkpoint(0);
  result.run_dir = s.run_dir;
  result.unigram_entropy_nats = s.data.unigram_entropy_nats;
  result.num_parameters = s.model->numParameters();
  const auto t0 = std::chrono::steady_clock::now();
  result.verification_seconds = 0;  // the loop's only
  s.model->train();

  const PlantedFault& fault = s.options.fault;
  int64_t fault_mb = -1;  // the logical micro-batch the planted fault corrupts
  if (fault.active()) {
    const bool rank_ok = fault.micro_batch >= 0 || (fault.rank >= 0 && fault.rank < size);
    if (fault.step > s.total_steps || fault.layer < 0 || fault.layer >= s.model->numLayers() ||
        !rank_ok || fault.micro_batch >= m) {
      throw UsageError(fmt::format(
          "--fault {}:{}:{}: expected STEP in 1..{}, LAYER in 0..{} and RANK in 0..{}",
          fault.step, fault.layer, fault.rank, s.total_steps, s.model->numLayers() - 1, size - 1));
    }
    fault_mb = fault.micro_batch >= 0
                   ? fault.micro_batch
                   : s.replica_micro_batches.at(static_cast<size_t>(partition::MeshLayout(s.mesh).coords(fault.rank).dp)).first;
    progress.message(fmt::format(
        "mlcp: FAULTY SOLVER (--fault): micro-batch {} (rank {}) corrupts layer {}'s forward "
        "output at step {}",
        fault_mb, fault.micro_batch >= 0 ? rank : fault.rank, fault.layer, fault.step));
    metrics.write("fault", {{"step", fault.step}, {"layer", fault.layer}, {"micro_batch", fault_mb}});
  }
  if (s.options.trace != nullptr && size != 1) {
    throw UsageError(fmt::format("an operator trace is recorded on one process; this run has {}",
                                 size));
  }
  // Parameter indices of each layer (operator traces name gradients and updates per layer).
  std::vector<std::vector<size_t>> layer_params(static_cast<size_t>(s.model->numLayers()));
  for (size_t i = 0; i < s.params.size(); ++i) {
    const int64_t l = layerOfParameter(s.params[i].first);
    if (l >= 0) layer_params[static_cast<size_t>(l)].push_back(i);
  }
  // Owned parameters (indices into s.owned) of each pipeline chunk, and all of them.
  std::vector<int64_t> all_owned(s.owned.size());
  for (size_t k = 0; k < s.owned.size(); ++k) all_owned[k] = static_cast<int64_t>(k);
  std::vector<std::vector<int64_t>> chunk_owned;
  if (s.pipeline) {
    for (const auto& [first, end] : s.pipeline->layout().chunks) {
      std::vector<int64_t> ks;
      for (size_t k = 0; k < s.owned.size(); ++k) {
        const int64_t l = layerOfParameter(s.owned[k].first);
        if (l >= first && l < end) ks.push_back(static_cast<int64_t>(k));
      }
      chunk_owned.push_back(std::move(ks));
    }
  }
  const StopSignal stop;  // SIGTERM/SIGUSR1: finish the step, checkpoint, stop
  for (int64_t step = start; step < s.total_steps; ++step) {
    const auto ts = std::chrono::steady_clock::now();
    // Slots 0..m-1: each micro-batch's loss; slot m: ranks that were asked to stop; slot m+1:
    // ranks still writing their shard of the checkpoint in flight.
    std::vector<double> loss_slots(static_cast<size_t>(m) + 2, 0.0);
    loss_slots[static_cast<size_t>(m)] = stop.requested() ? 1.0 : 0.0;
    loss_slots[static_cast<size_t>(m) + 1] = checkpointer.localReady() ? 0.0 : 1.0;
    OperatorTrace* trace =
        s.options.trace != nullptr && step + 1 == s.options.trace_step ? s.options.trace : nullptr;
    if (trace != nullptr) {
      trace->setStep(step + 1);
      trace->record({OperatorKind::kState}, collectTrainingState(s.owned, *s.optimizer, step));
    }
    // 2. local micro-batches
    auto plantFault = [&](int64_t j, int64_t l, torch::Tensor& h) {
      if (!(fault.active() && step + 1 == fault.step && j == fault_mb && l == fault.layer)) return;
      auto bump = torch::zeros_like(h);
      bump.view({-1})[0] = 1.0;
      h = h + bump;
    };
    auto keepGradients = [&](int64_t j, const std::vector<int64_t>& which) {
      auto& kept = contributions[static_cast<size_t>(j - mb_begin)];
      for (int64_t k : which) {
        auto& p = s.owned[static_cast<size_t>(k)].second;
        const auto& g = p.grad();
        kept[static_cast<size_t>(k)] = g.defined() ? g.contiguous() : torch::zeros_like(p);
      }
    };
    if (s.pipeline) {
      PipelineCallbacks cb;
      cb.batch = [&](int mb) { return s.data.train->batch(plan.microBatch(step, mb_begin + mb)); };
      cb.before_layer = [&](int mb, int64_t l) { seedLayer(spec.seed, step, mb_begin + mb, l); };
      cb.after_layer = [&](int mb, int64_t l, torch::Tensor& h) { plantFault(mb_begin + mb, l, h); };
      cb.after_backward = [&](int mb, int chunk) { keepGradients(mb_begin + mb, chunk_owned[static_cast<size_t>(chunk)]); };
      const auto losses = s.pipeline->runStep(s.pipeline_schedule, cb, s.coll, timeline);
      for (size_t k = 0; k < losses.size(); ++k) {
        if (losses[k] && s.coord.tp == 0) loss_slots[static_cast<size_t>(mb_begin) + k] = *losses[k];
      }
    }
    for (int64_t j = mb_begin; j < mb_end && !s.pipeline; ++j) {
      auto batch = s.data.train->batch(plan.microBatch(step, j));
      const auto compute_start = std::chrono::steady_clock::now();
      for (auto& p : s.owned) p.second.mutable_grad().reset();  // see contributions
      std::vector<torch::Tensor> outputs;  // each layer's output (traced step only)
      if (trace != nullptr) trace->record({OperatorKind::kData, j}, {{"input", batch.input}, {"target", batch.target}});
      // Layer by layer: LayerModel::forward's kernels, with counter-based seeds.
      int span = timeline ? timeline->begin(fmt::format("F{}", j), "forward", 0, {{"micro_batch", j}}) : -1;
      torch::Tensor h = batch.input;
      for (int64_t l = 0; l < s.model->numLayers(); ++l) {
        seedLayer(spec.seed, step, j, l);
        h = s.model->forward(h, l, l + 1);
        plantFault(j, l, h);
        if (trace != nullptr) {
          if (h.requires_grad()) h.retain_grad();
          outputs.push_back(h);
          trace->record({OperatorKind::kForward, j, l}, {{"output", h}});
        }
      }
      const torch::Tensor logits = h;
      auto loss = s.loss(logits, batch.target);
      if (timeline) {
        timeline->end(span);
        span = timeline->begin(fmt::format("B{}", j), "backward", 0, {{"micro_batch", j}});
      }
      loss.backward();
      emulateSlowdown(s.slowdown, compute_start);
      if (timeline) timeline->end(span);
      if (s.coord.tp == 0) loss_slots[static_cast<size_t>(j)] = loss.item<double>();
      if (trace != nullptr) {
        trace->record({OperatorKind::kLoss, j}, {{"loss", loss}, {"grad_logits", logits.grad()}});
        for (int64_t l = s.model->numLayers() - 1; l >= 0; --l) {
          std::vector<NamedTensor> grads;
          if (l > 0 && outputs[static_cast<size_t>(l - 1)].requires_grad()) {
            grads.push_back({"grad_input", outputs[static_cast<size_t>(l - 1)].grad()});
          }
          for (size_t i : layer_params[static_cast<size_t>(l)]) {
            grads.push_back({"grad/" + s.params[i].first, s.params[i].second.grad()});
          }
          trace->record({OperatorKind::kBackward, j, l}, grads);
        }
      }
      keepGradients(j, all_owned);
      if (j + 1 < mb_end) reducer.add(contributionPointers(j));
    }
    // 3. exact mean gradient over all M micro-batches
    const int reduce_span = timeline ? timeline->begin("reduce", "reduce", kStepLane) : -1;
    // The mean goes into each .grad tensor: in place over the last micro-batch's gradient (the
    // reduction allows it), or a new one where this rank ran no micro-batch.
    std::vector<float*> mean_grad;
    for (auto& [name, p] : s.owned) {
      auto& g = p.mutable_grad();
      if (!g.defined() || !g.is_contiguous()) g = torch::empty_like(p, torch::MemoryFormat::Contiguous);
      mean_grad.push_back(g.data_ptr<float>());
    }
    bool finite = false;
    if (s.pipeline) {
      std::vector<std::vector<const float*>> local;
      for (int64_t j = mb_begin; j < mb_end; ++j) local.push_back(contributionPointers(j));
      finite = reducer.reduce(local, m, 1.0 / static_cast<double>(m), mean_grad, s.coll);
    } else {
      const auto last = mb_end > mb_begin ? contributionPointers(mb_end - 1) : std::vector<const float*>{};
      finite = reducer.reduceAdded(last, m, 1.0 / static_cast<double>(m), mean_grad, s.coll);
    }
    if (s.pipeline || s.tp) {  // every stage and shard skips the update together
      int32_t ok = finite ? 1 : 0;
      s.world.allreduce(&ok, 1, DataType::kInt32, ReduceOp::kMin, s.coll);
      finite = ok == 1;
    }
    // 5. loss of the step, exact across placements
    loss_slots = gatherSlots(s.world, std::move(loss_slots), s.coll);
    const bool stop_after_this_step = loss_slots[static_cast<size_t>(m)] > 0;
    if (checkpointer.inFlight() && loss_slots[static_cast<size_t>(m) + 1] == 0) advanceCheckpoint();
    double loss_sum = 0;
    for (int64_t j = 0; j < m; ++j) loss_sum += loss_slots[static_cast<size_t>(j)];
    const double step_loss = loss_sum / static_cast<double>(m);
    if (timeline) timeline->end(reduce_span);
    // The previous step's hash and a checkpoint's snapshot must be taken before parameters change.
    finishPendingHash();
    {
      const auto timer = verificationTimer();
      checkpointer.waitForSnapshot();
    }
    const int update_span = timeline ? timeline->begin("update", "update", kStepLane) : -1;
    // 4. update
    const double lr = s.schedule.at(step);
    if (finite) {
      if (trace != nullptr) {
        for (size_t l = 0; l < layer_params.size(); ++l) {
          std::vector<NamedTensor> mean;
          for (size_t i : layer_params[l]) mean.push_back({"mean_grad/" + s.params[i].first, s.params[i].second.grad()});
          trace->record({OperatorKind::kReduce, -1, static_cast<int64_t>(l)}, mean);
        }
      }
      if (spec.optimizer.grad_clip > 0) {
        s.clipGradients();
        if (trace != nullptr) {
          std::vector<NamedTensor> clipped;
          for (auto& p : s.params) clipped.push_back({"grad/" + p.first, p.second.grad()});
          trace->record({OperatorKind::kClip}, clipped);
        }
      }
      setLearningRate(*s.optimizer, lr);
      s.optimizer->step();
    } else {
      ++result.skipped_steps;
      progress.message(fmt::format("step {}: gradient is not finite on some micro-batch; update skipped",
                                   step + 1));
    }
    if (trace != nullptr) {
      const auto after = collectTrainingState(s.owned, *s.optimizer, step + 1);
      for (size_t l = 0; l < layer_params.size(); ++l) {
        const std::string p = fmt::format("params/layers.{}.", l), o = fmt::format("optim/layers.{}.", l);
        std::vector<NamedTensor> updated;
        for (const auto& t : after) {
          if (t.name.rfind(p, 0) == 0 || t.name.rfind(o, 0) == 0) updated.push_back(t);
        }
        trace->record({OperatorKind::kUpdate, -1, static_cast<int64_t>(l)}, updated);
      }
    }
    if (timeline) timeline->end(update_span);
    const double dt =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
    const double sps = static_cast<double>(spec.train.global_batch) / dt;
    result.final_train_loss = step_loss;
    nlohmann::json record = {{"step", step + 1},   {"loss", step_loss},     {"lr", lr},
                             {"step_time_s", dt}, {"samples_per_s", sps}, {"finite", finite}};
    progress.step(step, step_loss, lr, sps);
    if (s.options.state_hashes) {
      const auto timer = verificationTimer();
      pending.record = std::move(record);
      pending.local = hash_worker.submit([sources = s.hashSources()] {
        return State::localParameterHashes(sources);
      });
      pending.active = true;
    } else {
      metrics.write("step", std::move(record));
    }
    if (spec.train.eval_every > 0 && (step + 1) % spec.train.eval_every == 0 &&
        step + 1 < s.total_steps) {
      finishPendingHash();  // keeps the metrics file in step order
      auto e = s.evaluate(step + 1);
      progress.message(fmt::format("eval @ step {}: loss {:.4f} accuracy {:.2f}%", step + 1,
                                   e.loss, 100.0 * e.accuracy));
      metrics.write("eval", {{"step", step + 1}, {"loss", e.loss}, {"accuracy", e.accuracy}});
    }
    // (The last step's checkpoint is the run's final one, written after the loop.)
    if (every > 0 && (step + 1) % every == 0 && step + 1 < s.total_steps) checkpoint(step + 1);
    if (stop_after_this_step && step + 1 < s.total_steps) {
      finishPendingHash();
      commitCheckpoint();
      if (result.checkpoint_dir != verify::checkpointDir(s.run_dir, step + 1)) {
        checkpoint(step + 1);
        commitCheckpoint();
      }
      progress.finish();
      progress.message(fmt::format(
          "mlcp: stopped after step {} on a signal (SIGTERM/SIGUSR1); checkpoint written, "
          "`mlcp run --resume` continues",
          step + 1));
      result.stopped_at_step = step + 1;
      return result;
    }
  }
  finishPendingHash();
  commitCheckpoint();  // a periodic checkpoint begun in the loop is part of the loop's time
  result.loop_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (result.checkpoint_dir != verify::checkpointDir(s.run_dir, s.total_steps)) {
    checkpoint(s.total_steps);
    commitCheckpoint();
  }
  progress.finish();
  result.steps = s.total_steps - start;
  result.samples = result.steps * spec.train.global_batch;
  result.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.samples_per_second = static_cast<double>(result.samples) / result.loop_seconds;
  result.final_eval = s.evaluate(s.total_steps);
  metrics.write("eval", {{"step", s.total_steps},
                         {"loss", result.final_eval.loss},
                         {"accuracy", result.final_eval.accuracy}});
  result.state_file = s.run_dir + "/final_state.bin";
  result.parameter_hash = s.writeFinalState(result.state_file);
  metrics.write("summary", {{"steps", result.steps},
                            {"wall_s", result.wall_seconds},
                            {"samples_per_s", result.samples_per_second},
                            {"train_loss", result.final_train_loss},
                            {"eval_loss", result.final_eval.loss},
                            {"eval_accuracy", result.final_eval.accuracy},
                            {"parameter_hash", result.parameter_hash},
                            {"checkpoint_root", result.checkpoint_root}});
  return result;
}

}  // namespace mlcp::runtime
