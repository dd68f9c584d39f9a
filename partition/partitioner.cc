#include "partition/partitioner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>

#include "base/error.h"
#include "partition/schedule.h"

namespace mlcp::partition {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Prefix sums of the per-layer quantities the cost and memory models need.
struct Prefix {
  std::vector<double> flops;   // fwd + bwd per sample
  std::vector<double> params;  // bytes
  std::vector<double> acts;    // bytes per sample
  explicit Prefix(const std::vector<LayerCost>& layers) {
    flops.assign(layers.size() + 1, 0);
    params.assign(layers.size() + 1, 0);
    acts.assign(layers.size() + 1, 0);
    for (size_t i = 0; i < layers.size(); ++i) {
      flops[i + 1] = flops[i] + layers[i].flops_fwd + layers[i].flops_bwd;
      params[i + 1] = params[i] + static_cast<double>(layers[i].param_bytes);
      acts[i + 1] = acts[i] + static_cast<double>(layers[i].activation_bytes);
    }
  }
};

struct Model {
  const std::vector<StageDevice>& stages;
  const PartitionOptions& opt;
  Prefix pre;

  int inFlight(size_t s) const {
    return s < opt.in_flight.size() ? std::max(1, opt.in_flight[s]) : 1;
  }
  double time(size_t s, size_t i, size_t j) const {
    return (pre.flops[j] - pre.flops[i]) * opt.micro_batch_size / (stages[s].gflops * 1e9);
  }
  double memory(size_t s, size_t i, size_t j) const {
    return opt.state_bytes_per_param_byte * (pre.params[j] - pre.params[i]) +
           static_cast<double>(inFlight(s)) * opt.micro_batch_size * (pre.acts[j] - pre.acts[i]);
  }
  bool fits(size_t s, size_t i, size_t j) const {
    return stages[s].memory_bytes <= 0 ||
           memory(s, i, j) <= static_cast<double>(stages[s].memory_bytes);
  }
  StageAssignment assign(size_t s, size_t i, size_t j) const {
    return {static_cast<int>(i), static_cast<int>(j), time(s, i, j),
            static_cast<int64_t>(std::llround(memory(s, i, j)))};
  }
};

void validate(const std::vector<LayerCost>& layers, const std::vector<StageDevice>& stages,
              const PartitionOptions& opt) {
  if (stages.empty()) throw UsageError("partition: the pipeline has no stages");
  if (layers.size() < stages.size()) {
    throw UsageError(
        fmt::format("partition: the model has {} layers but the pipeline has {} "
                    "stages; every stage needs at least one layer",
                    layers.size(), stages.size()));
  }
  if (opt.micro_batch_size < 1) {
    throw UsageError(
        fmt::format("partition: micro-batch size must be >= 1 (got {})", opt.micro_batch_size));
  }
  for (size_t s = 0; s < stages.size(); ++s) {
    if (!(stages[s].gflops > 0)) {
      throw UsageError(fmt::format("partition: stage {} has speed {} GFLOP/s; must be > 0", s,
                                   stages[s].gflops));
    }
  }
}

[[noreturn]] void noFit(const Model& m, size_t L) {
  // Name the tightest evidence: the smallest single-layer need against the largest budget,
  // and the total need against the total budget.
  std::string budgets;
  double total_budget = 0;
  for (size_t s = 0; s < m.stages.size(); ++s) {
    budgets += fmt::format("{}{:.3g}", s ? ", " : "",
                           static_cast<double>(m.stages[s].memory_bytes) / (1 << 30));
    total_budget += static_cast<double>(m.stages[s].memory_bytes);
  }
  double biggest = 0;
  size_t biggest_at = 0;
  for (size_t i = 0; i < L; ++i) {
    double need = m.memory(0, i, i + 1);
    if (need > biggest) {
      biggest = need;
      biggest_at = i;
    }
  }
  throw UsageError(fmt::format(
      "partition: no contiguous split of {} layers over {} stages fits the memory budgets "
      "(stage budgets {} GiB; the whole model needs at least {:.3g} GiB with {} bytes of state "
      "per parameter byte and micro-batch size {}; the largest layer, #{}, alone needs {:.3g} GiB)",
      L, m.stages.size(), budgets, m.memory(0, 0, L) / (1 << 30), m.opt.state_bytes_per_param_byte,
      m.opt.micro_batch_size, biggest_at, biggest / (1 << 30)));
}

Partition finish(const Model& m, const std::vector<size_t>& cuts) {
  Partition p;
  for (size_t s = 0; s + 1 < cuts.size(); ++s) {
    p.stages.push_back(m.assign(s, cuts[s], cuts[s + 1]));
    p.bottleneck_s = std::max(p.bottleneck_s, p.stages.back().time_s);
  }
  return p;
}

}  // namespace

Partition partitionStages(const std::vector<LayerCost>& layers,
                          const std::vector<StageDevice>& stages, const PartitionOptions& opt) {
  validate(layers, stages, opt);
  Model m{stages, opt, Prefix(layers)};
  const size_t L = layers.size(), P = stages.size();
  // best[k][j]: bottleneck of layers [0, j) on stages [0, k); from[k][j]: the chosen cut i.
  std::vector<std::vector<double>> best(P + 1, std::vector<double>(L + 1, kInf));
  std::vector<std::vector<size_t>> from(P + 1, std::vector<size_t>(L + 1, 0));
  best[0][0] = 0;
  for (size_t k = 1; k <= P; ++k) {
    // Stage k-1 must leave at least one layer to each later stage.
    for (size_t j = k; j + (P - k) <= L; ++j) {
      for (size_t i = k - 1; i < j; ++i) {
        if (best[k - 1][i] == kInf || !m.fits(k - 1, i, j)) continue;
        double v = std::max(best[k - 1][i], m.time(k - 1, i, j));
        if (v < best[k][j]) {  // strict: the smallest cut wins ties (deterministic)
          best[k][j] = v;
          from[k][j] = i;
        }
      }
    }
  }
  if (best[P][L] == kInf) noFit(m, L);
  std::vector<size_t> cuts(P + 1);
  cuts[P] = L;
  for (size_t k = P; k >= 1; --k) cuts[k - 1] = from[k][cuts[k]];
  return finish(m, cuts);
}

Partition partitionBruteForce(const std::vector<LayerCost>& layers,
                              const std::vector<StageDevice>& stages, const PartitionOptions& opt) {
  validate(layers, stages, opt);
  Model m{stages, opt, Prefix(layers)};
  const size_t L = layers.size(), P = stages.size();
  // Enumerate cut vectors 0 = c0 < c1 < ... < c_{P-1} < c_P = L.
  std::vector<size_t> cuts(P + 1);
  for (size_t k = 0; k < P; ++k) cuts[k] = k;
  cuts[P] = L;
  double best = kInf;
  std::vector<size_t> best_cuts;
  while (true) {
    double v = 0;
    bool ok = true;
    for (size_t s = 0; s < P && ok; ++s) {
      // Direct sums, independent of the DP's prefix sums.
      double fl = 0, pb = 0, ab = 0;
      for (size_t i = cuts[s]; i < cuts[s + 1]; ++i) {
        fl += layers[i].flops_fwd + layers[i].flops_bwd;
        pb += static_cast<double>(layers[i].param_bytes);
        ab += static_cast<double>(layers[i].activation_bytes);
      }
      double mem = opt.state_bytes_per_param_byte * pb +
                   static_cast<double>(m.inFlight(s)) * opt.micro_batch_size * ab;
      if (stages[s].memory_bytes > 0 && mem > static_cast<double>(stages[s].memory_bytes))
        ok = false;
      v = std::max(v, fl * opt.micro_batch_size / (stages[s].gflops * 1e9));
    }
    if (ok && v < best) {
      best = v;
      best_cuts = cuts;
    }
    // Next composition: advance the last movable inner cut.
    size_t k = P - 1;
    while (k >= 1 && cuts[k] == L - (P - k)) --k;
    if (k == 0) break;
    ++cuts[k];
    for (size_t t = k + 1; t < P; ++t) cuts[t] = cuts[t - 1] + 1;
  }
  if (best_cuts.empty()) noFit(m, L);
  return finish(m, best_cuts);
}

Partition uniformPartition(const std::vector<LayerCost>& layers,
                           const std::vector<StageDevice>& stages, const PartitionOptions& opt) {
  validate(layers, stages, opt);
  Model m{stages, opt, Prefix(layers)};
  const size_t L = layers.size(), P = stages.size();
  std::vector<size_t> cuts(P + 1, 0);
  for (size_t s = 0; s < P; ++s) cuts[s + 1] = cuts[s] + L / P + (s < L % P ? 1 : 0);
  return finish(m, cuts);
}

std::vector<int> microBatchShares(const std::vector<double>& speeds, int total) {
  require(!speeds.empty(), "microBatchShares: no replicas");
  require(total >= 0, fmt::format("microBatchShares: total {} is negative", total));
  double sum = 0;
  for (size_t i = 0; i < speeds.size(); ++i) {
    require(speeds[i] > 0 && std::isfinite(speeds[i]),
            fmt::format("microBatchShares: replica {} has speed {}; must be > 0", i, speeds[i]));
    sum += speeds[i];
  }
  const size_t n = speeds.size();
  std::vector<int> share(n);
  std::vector<double> rem(n);
  int given = 0;
  for (size_t i = 0; i < n; ++i) {
    double q = total * speeds[i] / sum;
    share[i] = static_cast<int>(std::floor(q));
    rem[i] = q - share[i];
    given += share[i];
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rem[a] > rem[b]; });
  for (int k = 0; given < total; ++k, ++given) ++share[order[static_cast<size_t>(k) % n]];
  if (static_cast<size_t>(total) >= n) {
    for (size_t i = 0; i < n; ++i) {
      while (share[i] == 0) {
        size_t big = 0;
        for (size_t j = 0; j < n; ++j)
          if (share[j] >= share[big]) big = j;
        --share[big];
        ++share[i];
      }
    }
  }
  return share;
}

// ---- makePlan --------------------------------------------------------------------------------

namespace {

// The UsageErrors of a plan that cannot exist: devices for another rank count, fewer
// micro-batches than replicas, an interleaved schedule whose micro-batches do not split by pp.
void checkPlanInput(const PlanInput& in, size_t devices, int ranks) {
  const int dp = in.mesh.dp, pp = in.mesh.pp;
  if (static_cast<int>(devices) != ranks) {
    throw UsageError(fmt::format("plan: {} device profiles for mesh {} of {} ranks", devices,
                                 in.mesh.toString(), ranks));
  }
  if (in.micro_batches < dp) {
    throw UsageError(fmt::format("plan: {} micro-batches cannot feed {} data-parallel replicas",
                                 in.micro_batches, dp));
  }
  const bool inter = in.schedule == "interleaved";
  if (inter && in.micro_batches % pp != 0) {
    throw UsageError(
        fmt::format("plan: interleaved schedule needs micro-batches divisible by pp "
                    "(got {} micro-batches, pp {})",
                    in.micro_batches, pp));
  }
  if (inter && in.micro_batches / pp < dp) {
    throw UsageError(
        fmt::format("plan: interleaved schedule hands out micro-batches in groups of "
                    "pp = {}; {} micro-batches are fewer than {} groups for dp = {}",
                    pp, in.micro_batches, dp, dp));
  }
}

// Speed and memory of each (replica, physical stage): its tp group splits the work, so the group
// runs at tp x its slowest member and holds tp x its smallest memory.
struct GroupDevices {
  const MeshLayout& layout;
  const std::vector<DeviceProfile>& devices;
  int tp;

  double speed(int r, int s) const {
    double g = kInf;
    for (int t = 0; t < tp; ++t) {
      g = std::min(g, devices[static_cast<size_t>(layout.rank({r, s, t}))].effectiveGflops());
    }
    return g * tp;
  }
  int64_t memory(int r, int s) const {
    int64_t mem = std::numeric_limits<int64_t>::max();
    for (int t = 0; t < tp; ++t) {
      mem = std::min(mem, devices[static_cast<size_t>(layout.rank({r, s, t}))].memory_bytes);
    }
    return mem * tp;
  }
};

// One layer split shared by all replicas (data-parallel peers must own the same layers): each
// virtual stage is planned at the slowest replica's speed and smallest memory; a physical
// stage's memory is divided evenly among its v chunks. Fills plan.stages.
void planStages(const PlanInput& in, const GroupDevices& groups, const std::vector<int>& peak,
                Plan& plan) {
  const int dp = in.mesh.dp, pp = in.mesh.pp, v = in.virtual_stages;
  std::vector<StageDevice> vstages;
  PartitionOptions opt;
  opt.micro_batch_size = in.micro_batch_size;
  opt.state_bytes_per_param_byte = in.state_bytes_per_param_byte;
  for (int vs = 0; vs < pp * v; ++vs) {
    const int s = vs % pp;
    StageDevice d{kInf, std::numeric_limits<int64_t>::max()};
    for (int r = 0; r < dp; ++r) {
      d.gflops = std::min(d.gflops, groups.speed(r, s));
      d.memory_bytes = std::min(d.memory_bytes, groups.memory(r, s));
    }
    d.memory_bytes /= v;
    vstages.push_back(d);
    // Chunk-forwards in flight on the physical stage, spread over its v chunks.
    opt.in_flight.push_back((peak[static_cast<size_t>(s)] + v - 1) / v);
  }
  const Partition part = in.balance ? partitionStages(in.layers, vstages, opt)
                                    : uniformPartition(in.layers, vstages, opt);
  for (int vs = 0; vs < pp * v; ++vs) {
    const auto& a = part.stages[static_cast<size_t>(vs)];
    StagePlan sp;
    sp.virtual_stage = vs;
    sp.stage = vs % pp;
    sp.chunk = vs / pp;
    sp.first_layer = a.first_layer;
    sp.end_layer = a.end_layer;
    sp.gflops = vstages[static_cast<size_t>(vs)].gflops;
    sp.time_s = a.time_s;
    sp.memory_need = a.memory_bytes;
    sp.memory_budget = vstages[static_cast<size_t>(vs)].memory_bytes;
    plan.stages.push_back(sp);
  }
}

// Per replica: forward and backward seconds of every (stage, chunk) at its own speed; `speeds`
// receives each replica's micro-batches per second at its bottleneck stage.
std::vector<StageCosts> replicaCosts(const PlanInput& in, const GroupDevices& groups,
                                     const Plan& plan, std::vector<double>* speeds) {
  const int dp = in.mesh.dp, pp = in.mesh.pp, v = in.virtual_stages;
  std::vector<double> fw(in.layers.size() + 1, 0), bw(in.layers.size() + 1, 0);
  for (size_t i = 0; i < in.layers.size(); ++i) {
    fw[i + 1] = fw[i] + in.layers[i].flops_fwd;
    bw[i + 1] = bw[i] + in.layers[i].flops_bwd;
  }
  std::vector<StageCosts> costs(static_cast<size_t>(dp));
  for (int r = 0; r < dp; ++r) {
    StageCosts& c = costs[static_cast<size_t>(r)];
    c.p2p_latency = in.p2p_latency_s;
    c.forward.assign(static_cast<size_t>(pp), std::vector<double>(static_cast<size_t>(v), 0));
    c.backward = c.forward;
    double bottleneck = 0;
    for (const auto& sp : plan.stages) {
      const double g = groups.speed(r, sp.stage) * 1e9;
      const auto first = static_cast<size_t>(sp.first_layer),
                 end = static_cast<size_t>(sp.end_layer);
      const double f = (fw[end] - fw[first]) * in.micro_batch_size / g;
      const double b = (bw[end] - bw[first]) * in.micro_batch_size / g;
      c.forward[static_cast<size_t>(sp.stage)][static_cast<size_t>(sp.chunk)] = f;
      c.backward[static_cast<size_t>(sp.stage)][static_cast<size_t>(sp.chunk)] = b;
      bottleneck = std::max(bottleneck, f + b);
    }
    speeds->push_back(bottleneck > 0 ? 1.0 / bottleneck : 1.0);
  }
  return costs;
}

// Each replica's share of the micro-batches: proportional to its speed (equal without balance),
// in units of pp for an interleaved schedule, then refined by simulation (balance only):
// proportional shares ignore fill and drain, which cost a fast replica relatively more. Moves one
// unit at a time from the replica with the longest simulated step to the replica whose step
// stays shortest after taking it, while that shortens the longest step. Each replica keeps >= 1
// unit when there are enough. Deterministic: ties go to the lower index.
std::vector<int> shareMicroBatches(const PlanInput& in, const std::vector<double>& speeds,
                                   const std::vector<StageCosts>& costs) {
  const int dp = in.mesh.dp, pp = in.mesh.pp, v = in.virtual_stages;
  const bool inter = in.schedule == "interleaved";
  const int unit = inter ? pp : 1;
  std::vector<int> shares =
      microBatchShares(in.balance ? speeds : std::vector<double>(static_cast<size_t>(dp), 1.0),
                       in.micro_batches / unit);
  for (auto& s : shares) s *= unit;
  if (!in.balance && !inter) {
    // Equal shares: the remainder of M / dp goes to the first replicas.
    for (int r = 0; r < dp; ++r) {
      shares[static_cast<size_t>(r)] = in.micro_batches / dp + (r < in.micro_batches % dp ? 1 : 0);
    }
  }
  std::map<std::pair<int, int>, double> memo;
  auto stepOf = [&](int r, int mbs) {
    if (mbs <= 0) return 0.0;
    auto it = memo.find({r, mbs});
    if (it != memo.end()) return it->second;
    const double t =
        simulate(scheduleFor(in.schedule, pp, mbs, v), costs[static_cast<size_t>(r)]).step_time;
    memo[{r, mbs}] = t;
    return t;
  };
  auto share = [&](int r) -> int& { return shares[static_cast<size_t>(r)]; };
  const int floor_share = in.micro_batches >= dp * unit ? unit : 0;
  for (int iter = 0; in.balance && dp > 1 && iter < in.micro_batches; ++iter) {
    int slow = 0;
    for (int r = 1; r < dp; ++r) {
      if (stepOf(r, share(r)) > stepOf(slow, share(slow))) slow = r;
    }
    if (share(slow) - unit < floor_share) break;
    int to = -1;
    double to_time = kInf;
    for (int r = 0; r < dp; ++r) {
      if (r == slow) continue;
      const double t = stepOf(r, share(r) + unit);
      if (t < to_time) {
        to_time = t;
        to = r;
      }
    }
    const double before = stepOf(slow, share(slow));
    double after = std::max(to_time, stepOf(slow, share(slow) - unit));
    for (int r = 0; r < dp; ++r) {
      if (r != slow && r != to) after = std::max(after, stepOf(r, share(r)));
    }
    if (to < 0 || !(after < before * (1 - 1e-12))) break;
    share(slow) -= unit;
    share(to) += unit;
  }
  return shares;
}

}  // namespace

Plan makePlan(const PlanInput& in) {
  MeshLayout layout(in.mesh);
  const int dp = in.mesh.dp, pp = in.mesh.pp, tp = in.mesh.tp, v = in.virtual_stages;
  const std::vector<DeviceProfile> devices =
      in.devices.empty() ? uniformDevices(layout.size()) : in.devices;
  checkPlanInput(in, devices.size(), layout.size());
  // Validates schedule name / pp / v up front (with the full micro-batch count).
  const PipelineSchedule whole = scheduleFor(in.schedule, pp, in.micro_batches, v);
  const GroupDevices groups{layout, devices, tp};

  Plan plan;
  plan.mesh = in.mesh;
  plan.schedule = in.schedule;
  plan.virtual_stages = v;
  plan.micro_batches = in.micro_batches;
  plan.micro_batch_size = in.micro_batch_size;
  plan.devices = devices;
  plan.peak_in_flight = peakInFlight(whole);
  for (const auto& l : in.layers) plan.layer_names.push_back(l.name);
  planStages(in, groups, plan.peak_in_flight, plan);

  std::vector<double> speeds;
  const auto costs = replicaCosts(in, groups, plan, &speeds);
  const auto shares = shareMicroBatches(in, speeds, costs);
  for (int r = 0; r < dp; ++r) {
    ReplicaPlan rp;
    rp.dp = r;
    for (int s = 0; s < pp; ++s) {
      for (int t = 0; t < tp; ++t) rp.ranks.push_back(layout.rank({r, s, t}));
    }
    rp.throughput = speeds[static_cast<size_t>(r)];
    rp.micro_batches = shares[static_cast<size_t>(r)];
    if (rp.micro_batches > 0) {
      const Timeline t = simulate(scheduleFor(in.schedule, pp, rp.micro_batches, v),
                                  costs[static_cast<size_t>(r)]);
      rp.step_time_s = t.step_time;
      rp.bubble_fraction = t.bubble_fraction;
    }
    plan.step_time_s = std::max(plan.step_time_s, rp.step_time_s);
    plan.replicas.push_back(rp);
  }
  return plan;
}

static std::string gib(int64_t b) {
  return fmt::format("{:.2f} GiB", static_cast<double>(b) / (1 << 30));
}

std::string printPlan(const Plan& p) {
  MeshLayout layout(p.mesh);
  std::string out =
      fmt::format("plan: mesh {} ({} ranks), schedule {}{}, {} micro-batches of {} sample(s)\n",
                  p.mesh.toString(), layout.size(), p.schedule,
                  p.virtual_stages > 1 ? fmt::format(" (v = {})", p.virtual_stages) : std::string(),
                  p.micro_batches, p.micro_batch_size);
  out += "\n" + layout.toString();
  out += "\ndevices:\n" + toString(p.devices);
  out += "\nstages (layer ranges are half-open [first, end)):\n";
  out += fmt::format("{:>6} {:>5} {:>5}  {:<18} {:>10} {:>12} {:>12} {:>12}\n", "vstage", "stage",
                     "chunk", "layers", "GFLOP/s", "time/mb (ms)", "memory", "budget");
  for (const auto& s : p.stages) {
    std::string names;
    if (s.end_layer > s.first_layer && static_cast<size_t>(s.end_layer) <= p.layer_names.size()) {
      names = fmt::format(" {}..{}", p.layer_names[static_cast<size_t>(s.first_layer)],
                          p.layer_names[static_cast<size_t>(s.end_layer - 1)]);
    }
    out += fmt::format(
        "{:>6} {:>5} {:>5}  {:<18} {:>10.4g} {:>12.4g} {:>12} {:>12}{}\n", s.virtual_stage, s.stage,
        s.chunk,
        fmt::format("[{}, {}) {}", s.first_layer, s.end_layer, s.end_layer - s.first_layer),
        s.gflops, s.time_s * 1e3, gib(s.memory_need),
        s.memory_budget == std::numeric_limits<int64_t>::max() || s.memory_budget <= 0
            ? std::string("-")
            : gib(s.memory_budget),
        names);
  }
  out += "\nreplicas:\n";
  for (const auto& r : p.replicas) {
    std::string ranks;
    for (int x : r.ranks) ranks += (ranks.empty() ? "" : " ") + std::to_string(x);
    out += fmt::format(
        "  dp {}: ranks [{}], {:.4g} micro-batches/s, share {} micro-batches, "
        "step {:.4g} ms, bubble {:.1f} %\n",
        r.dp, ranks, r.throughput, r.micro_batches, r.step_time_s * 1e3, 100 * r.bubble_fraction);
  }
  out += fmt::format("\nexpected step time: {:.4g} ms\n", p.step_time_s * 1e3);
  return out;
}

nlohmann::json toJson(const Plan& p) {
  nlohmann::json stages = nlohmann::json::array(), reps = nlohmann::json::array();
  for (const auto& s : p.stages) {
    stages.push_back({{"virtual_stage", s.virtual_stage},
                      {"stage", s.stage},
                      {"chunk", s.chunk},
                      {"first_layer", s.first_layer},
                      {"end_layer", s.end_layer},
                      {"gflops", s.gflops},
                      {"time_s", s.time_s},
                      {"memory_need", s.memory_need},
                      {"memory_budget", s.memory_budget}});
  }
  for (const auto& r : p.replicas) {
    reps.push_back({{"dp", r.dp},
                    {"ranks", r.ranks},
                    {"throughput", r.throughput},
                    {"micro_batches", r.micro_batches},
                    {"step_time_s", r.step_time_s},
                    {"bubble_fraction", r.bubble_fraction}});
  }
  return {{"mesh", {{"dp", p.mesh.dp}, {"pp", p.mesh.pp}, {"tp", p.mesh.tp}}},
          {"schedule", p.schedule},
          {"virtual_stages", p.virtual_stages},
          {"micro_batches", p.micro_batches},
          {"micro_batch_size", p.micro_batch_size},
          {"stages", stages},
          {"replicas", reps},
          {"step_time_s", p.step_time_s},
          {"peak_in_flight", p.peak_in_flight}};
}

}  // namespace mlcp::partition
