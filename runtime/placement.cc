#include "runtime/placement.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "base/error.h"
#include "data/dataset.h"
#include "data/text_corpus.h"
#include "models/model_registry.h"
#include "runtime/evaluator.h"

namespace mlcp::runtime {
namespace {

using collectives::DataType;
using collectives::ReduceOp;

// Achieved float32 matmul GFLOP/s at a square size near `width`.
double matmulGflops(int64_t width) {
  const int64_t n = std::max<int64_t>(64, std::min<int64_t>(width, 1024));
  auto a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::Tensor c = torch::matmul(a, b);  // warm-up
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 4; ++i) c = torch::matmul(a, b);
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 4);
  }
  return 2.0 * static_cast<double>(n * n * n) / best / 1e9;
}

}  // namespace

// MemAvailable, 16 GiB when the system cannot tell.
int64_t availableMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  int64_t kib = 0;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return int64_t{16} << 30;
}

namespace {

// The parameter count of a registered model kind, which only its builder knows: the model is
// built once here (the run builds it next anyway). -1 for a built-in kind (jobs/ counts it).
int64_t registeredParameterCount(const jobs::JobSpec& spec, int64_t classes) {
  if (jobs::isBuiltInModelKind(spec.model.kind)) return -1;
  models::checkModelKind(spec);
  return models::buildModel(spec.model, classes, spec.seed)->numParameters();
}

}  // namespace

jobs::MemoryEstimate checkMemoryFits(const jobs::JobSpec& spec, int world_size, int ranks_here,
                                     int64_t parameters) {
  const int64_t classes = data::classCount(spec.data.kind, spec.data.path);
  const auto e =
      jobs::estimateMemory(spec, world_size, classes,
                           parameters >= 0 ? parameters : registeredParameterCount(spec, classes));
  const int64_t available = availableMemoryBytes();
  const double gib = 1024.0 * 1024.0 * 1024.0;
  int64_t here = 0;
  if (e.bytes_per_rank > available / std::max(1, ranks_here) ||
      __builtin_mul_overflow(e.bytes_per_rank, static_cast<int64_t>(ranks_here), &here)) {
    throw UsageError(fmt::format(
        "{} needs about {:.1f} GiB per rank ({}){}, more than the {:.1f} GiB this machine has "
        "available: make the model smaller, use fewer micro-batches per rank (more data-parallel "
        "ranks) or pipeline / tensor parallelism",
        spec.source_path.empty() ? spec.name : spec.source_path,
        static_cast<double>(e.bytes_per_rank) / gib, e.breakdown,
        ranks_here > 1 ? fmt::format(", for {} ranks on this host", ranks_here) : std::string(),
        static_cast<double>(available) / gib));
  }
  return e;
}

double measureMatmulGflops(const jobs::ModelSpec& m) {
  // The width the model's matmuls mostly have (d_model, the first hidden layer, ...).
  const int64_t width = m.kind == "gpt"                        ? m.d_model
                        : m.kind == "mlp" && !m.hidden.empty() ? m.hidden.front()
                                                               : 256;
  return matmulGflops(width);
}

std::pair<int64_t, int64_t> evenRange(int64_t count, int r, int d) {
  const int64_t base = count / d, extra = count % d;
  const int64_t begin = r * base + std::min<int64_t>(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

int Placement::stageOfLayer(int64_t layer) const {
  for (const auto& s : plan.stages) {
    if (layer >= s.first_layer && layer < s.end_layer) return s.stage;
  }
  throw InvalidArgument(fmt::format("layer {} is in no pipeline stage of the plan", layer));
}

std::vector<std::pair<int64_t, int64_t>> Placement::chunksOfStage(int stage) const {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& s : plan.stages) {  // in virtual-stage order, so in chunk order
    if (s.stage == stage) out.emplace_back(s.first_layer, s.end_layer);
  }
  return out;
}

std::string Placement::describe() const {
  return fmt::format("devices: {}\n{}{}", devices_from, partition::printPlan(plan), memory);
}

int64_t RankMemory::total() const {
  int64_t sum = 0;
  for (const int64_t part :
       {state.bytes_per_rank, activationBytes(), exact_sum_bytes, data_bytes, runtime_bytes}) {
    if (__builtin_add_overflow(sum, part, &sum)) return std::numeric_limits<int64_t>::max();
  }
  return sum;
}

namespace {

// The bytes of the job's data set a rank holds in memory (RankMemory).
int64_t dataBytes(const jobs::DataSpec& d) {
  if (d.kind == "fashion-mnist") {
    constexpr int64_t kPixels = 28 * 28, kTrain = 60000, kEval = 10000;
    const int64_t train = d.train_limit > 0 ? std::min(d.train_limit, kTrain) : kTrain;
    const int64_t eval = d.eval_limit > 0 ? std::min(d.eval_limit, kEval) : kEval;
    return (train + eval) * kPixels * (4 + 1);  // float32 images, made from the uint8 file's
  }
  if (d.kind == "text") {  // every byte of the corpus as an int64 (data/text_corpus.h)
    std::error_code ec;
    int64_t bytes = 0;
    for (const std::string& file : data::corpusFiles(d.path)) {
      const auto size = std::filesystem::file_size(file, ec);
      if (!ec) bytes += static_cast<int64_t>(size);
    }
    return bytes * 8;
  }
  return 0;  // tokens: memory-mapped shards
}

}  // namespace

RankMemory estimateRankMemory(const jobs::JobSpec& spec,
                              const std::vector<models::LayerCost>& layers,
                              const partition::Plan& plan) {
  RankMemory m;
  // A registered kind's parameters: its layers' (whole-layer) parameter bytes.
  int64_t parameters = -1;
  if (!jobs::isBuiltInModelKind(spec.model.kind)) {
    parameters = 0;
    for (const auto& c : layers) parameters += c.param_bytes / 4;
  }
  m.state = jobs::estimateMemory(spec, plan.mesh.size(),
                                 data::classCount(spec.data.kind, spec.data.path), parameters);
  const int64_t micro_batch = spec.train.global_batch / spec.train.micro_batches;
  int64_t local = 0;
  for (const auto& r : plan.replicas) local = std::max<int64_t>(local, r.micro_batches);
  int64_t in_flight = 1;
  if (plan.mesh.pp > 1) in_flight = spec.parallel.schedule == "gpipe" ? local : plan.mesh.pp;
  double worst = 0, worst_eval = 0;
  for (int stage = 0; stage < plan.mesh.pp; ++stage) {
    double kept = 0, largest = 0;
    for (const auto& s : plan.stages) {
      if (s.stage != stage) continue;
      for (int64_t l = s.first_layer; l < s.end_layer; ++l) {
        const auto& c = layers.at(static_cast<size_t>(l));
        kept += static_cast<double>(spec.runtime.recompute ? c.output_bytes : c.activation_bytes);
        largest = std::max(largest, static_cast<double>(c.activation_bytes));
      }
    }
    if (spec.runtime.recompute) kept += largest;
    worst = std::max(worst, kept / static_cast<double>(plan.mesh.tp));
    worst_eval = std::max(worst_eval, largest / static_cast<double>(plan.mesh.tp));
  }
  m.train_activation_bytes = static_cast<int64_t>(worst * static_cast<double>(micro_batch) *
                                                  static_cast<double>(in_flight));
  const int64_t eval_batch =
      spec.data.eval_limit > 0 ? std::min(spec.data.eval_limit, kEvalBatch) : kEvalBatch;
  m.eval_activation_bytes = static_cast<int64_t>(worst_eval * static_cast<double>(eval_batch));
  // The exact sum runs over this rank's parameters: 1/(pp*tp) of the model.
  const int64_t model_ranks = std::max<int64_t>(1, plan.mesh.pp * plan.mesh.tp);
  const int64_t mine = m.state.parameters == std::numeric_limits<int64_t>::max()
                           ? m.state.parameters
                           : (m.state.parameters + model_ranks - 1) / model_ranks;
  const int64_t per_parameter = plan.mesh.dp > 1 ? 8 + 4 + 4 : 8;
  m.exact_sum_bytes = mine > std::numeric_limits<int64_t>::max() / per_parameter
                          ? std::numeric_limits<int64_t>::max()
                          : mine * per_parameter;
  m.data_bytes = dataBytes(spec.data);
  return m;
}

namespace {

std::string describeMemory(const jobs::JobSpec& spec, const std::vector<models::LayerCost>& layers,
                           const partition::Plan& plan) {
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  const auto m = estimateRankMemory(spec, layers, plan);
  auto other = spec;
  other.parallel.shard_optimizer = !spec.parallel.shard_optimizer;
  const auto alt = estimateRankMemory(other, layers, plan);
  std::string out = fmt::format(
      "memory per rank (estimate): {:.3f} GiB = training state {:.3f} GiB ({}) + activations "
      "{:.3f} GiB (the larger of training's {:.3f}{} and evaluation's {:.3f}) + exact-sum "
      "buffers {:.3f} GiB + data {:.3f} GiB + runtime {:.3f} GiB (LibTorch, MPI, UCX)\n",
      static_cast<double>(m.total()) / kGiB, static_cast<double>(m.state.bytes_per_rank) / kGiB,
      m.state.breakdown, static_cast<double>(m.activationBytes()) / kGiB,
      static_cast<double>(m.train_activation_bytes) / kGiB,
      spec.runtime.recompute ? ", recomputed per layer," : "",
      static_cast<double>(m.eval_activation_bytes) / kGiB,
      static_cast<double>(m.exact_sum_bytes) / kGiB, static_cast<double>(m.data_bytes) / kGiB,
      static_cast<double>(m.runtime_bytes) / kGiB);
  if (plan.mesh.dp > 1) {
    out += fmt::format(
        "  {} shard_optimizer: {:.3f} GiB (optimizer state {:.3f} GiB, here {:.3f})\n",
        spec.parallel.shard_optimizer ? "without" : "with", static_cast<double>(alt.total()) / kGiB,
        static_cast<double>(alt.state.optimizer_bytes) / kGiB,
        static_cast<double>(m.state.optimizer_bytes) / kGiB);
  }
  return out;
}

}  // namespace

std::string Placement::summary() const {
  std::string ranges;
  if (plan.mesh.pp > 1) {
    for (const auto& s : plan.stages) {
      ranges += fmt::format("{}layers {}..{} on stage {}", ranges.empty() ? ": " : ", ",
                            s.first_layer, s.end_layer - 1, s.stage);
    }
  }
  return fmt::format("{} ({} schedule, {} virtual stages){}", plan.mesh.toString(), plan.schedule,
                     plan.virtual_stages, ranges);
}

bool measuresDevices(const jobs::JobSpec& spec, int world_size) {
  return spec.runtime.devices_file.empty() && spec.parallel.pp > 1 && world_size > 1;
}

std::vector<partition::DeviceProfile> jobDevices(const jobs::JobSpec& spec, int world_size,
                                                 const std::vector<double>& measured_gflops,
                                                 int64_t memory_bytes, std::string* from) {
  if (!spec.runtime.devices_file.empty()) {
    *from = "declared in " + spec.runtime.devices_file;
    return partition::loadDevices(spec.runtime.devices_file, world_size);
  }
  require(static_cast<int>(measured_gflops.size()) == world_size,
          "jobDevices: one measurement per rank");
  if (!measuresDevices(spec, world_size)) {
    partition::DeviceProfile d;
    d.name = "equal";
    d.memory_bytes = memory_bytes;
    *from = fmt::format(
        "not measured (no pipeline stages to cut by speed): {} equal devices, available memory "
        "split over them",
        world_size);
    return std::vector<partition::DeviceProfile>(static_cast<size_t>(world_size), d);
  }
  auto sorted = measured_gflops;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  std::vector<partition::DeviceProfile> devices;
  for (double g : measured_gflops) {
    partition::DeviceProfile d;
    d.name = "measured";
    d.gflops = std::abs(g / median - 1.0) <= 0.25 ? median : g;
    d.memory_bytes = memory_bytes;
    devices.push_back(d);
  }
  *from = fmt::format(
      "measured at start: float32 matmul GFLOP/s of each rank (within 25% of the "
      "median counted as the median), available memory split over {} ranks",
      world_size);
  return devices;
}

void checkPipelineFits(const jobs::JobSpec& spec, int64_t layers) {
  const auto& par = spec.parallel;
  if (par.pp * par.virtual_stages <= layers) return;
  throw UsageError(fmt::format(
      "{}parallel.pp: must be at most the model's pipeline layer count {} (model \"{}\"{}), "
      "got {}",
      spec.source_path.empty() ? std::string() : spec.source_path + ": ", layers, spec.model.kind,
      par.virtual_stages > 1 ? fmt::format(", over {} virtual stages", par.virtual_stages)
                             : std::string(),
      par.pp));
}

Placement makePlacement(const jobs::JobSpec& spec, const std::vector<models::LayerCost>& layers,
                        std::vector<partition::DeviceProfile> devices, std::string devices_from,
                        bool balance) {
  const int world_size = static_cast<int>(devices.size());
  jobs::checkWorldSize(spec, world_size);
  const auto& par = spec.parallel;
  checkPipelineFits(spec, static_cast<int64_t>(layers.size()));
  const int model_ranks = static_cast<int>(par.pp * par.tp);
  partition::PlanInput in;
  in.mesh = {world_size / model_ranks, static_cast<int>(par.pp), static_cast<int>(par.tp)};
  in.micro_batches = static_cast<int>(spec.train.micro_batches);
  in.micro_batch_size = static_cast<int>(spec.train.global_batch / spec.train.micro_batches);
  in.schedule = par.schedule;
  in.virtual_stages = static_cast<int>(par.virtual_stages);
  in.layers = layers;
  in.devices = std::move(devices);
  in.balance = balance;
  Placement p;
  p.plan = partition::makePlan(in);
  p.devices_from = std::move(devices_from);
  p.memory = describeMemory(spec, layers, p.plan);
  int64_t begin = 0;
  for (const auto& r : p.plan.replicas) {
    p.micro_batches.emplace_back(begin, begin + r.micro_batches);
    begin += r.micro_batches;
  }
  return p;
}

Placement placeJob(const jobs::JobSpec& spec, const std::vector<models::LayerCost>& layers,
                   collectives::Communicator& world, const collectives::CollectiveOptions& opts,
                   bool balance) {
  const int n = world.size();
  std::vector<double> gflops(static_cast<size_t>(n), 0.0);
  int64_t memory = 0;
  if (spec.runtime.devices_file.empty()) {
    if (measuresDevices(spec, n)) {
      gflops[static_cast<size_t>(world.rank())] = measureMatmulGflops(spec.model);
      world.allreduce(gflops.data(), n, DataType::kFloat64, ReduceOp::kSum, opts);
    }
    memory = availableMemoryBytes() / n;
    world.allreduce(&memory, 1, DataType::kInt64, ReduceOp::kMin, opts);
  }
  std::string from;
  auto devices = jobDevices(spec, n, gflops, memory, &from);
  return makePlacement(spec, layers, std::move(devices), std::move(from), balance);
}

ProcessGroups makeProcessGroups(const partition::MeshShape& mesh,
                                collectives::Communicator& world) {
  ProcessGroups g;
  const partition::MeshLayout layout(mesh, world.size());
  g.coord = layout.coords(world.rank());
  g.world = &world;
  if (mesh.tp > 1) {
    const auto t = layout.split(partition::MeshDim::kTensor, world.rank());
    g.tp_owned = world.split(t.color, t.key);
    g.tp = g.tp_owned.get();
  }
  if (mesh.pp == 1 && mesh.tp == 1) {
    g.dp = &world;
  } else {
    const auto d = layout.split(partition::MeshDim::kData, world.rank());
    g.dp_owned = world.split(d.color, d.key);
    g.dp = g.dp_owned.get();
  }
  if (mesh.pp > 1) {
    const auto q = layout.split(partition::MeshDim::kPipeline, world.rank());
    g.pp_owned = world.split(q.color, q.key);
    g.pp = g.pp_owned.get();
  }
  return g;
}

}  // namespace mlcp::runtime
