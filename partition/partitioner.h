// The heterogeneity-aware partitioner and the plan that `mlcp plan` prints.
//
// 1. partitionStages: contiguous layer ranges for the pipeline stages, minimising the slowest
//    stage's time per micro-batch, subject to each stage's memory. Exact dynamic programming:
//
//      T[k][j] = min over i in [k-1, j-1] with mem(k-1, i, j) <= budget[k-1] of
//                max(T[k-1][i], time(k-1, i, j))          T[0][0] = 0
//
//    where T[k][j] is the best bottleneck for layers [0, j) on stages [0, k),
//    time(s, i, j) = (sum of flops_fwd + flops_bwd over layers [i, j)) * micro_batch_size /
//    (stage s GFLOP/s * 1e9) from prefix sums, and
//    mem(s, i, j) = state_bytes_per_param_byte * params[i, j)
//                 + in_flight[s] * micro_batch_size * activations[i, j).
//    O(L^2 p) time. Every stage gets at least one layer.
// 2. microBatchShares: logical micro-batch counts for data-parallel replicas, proportional to
//    speed (largest remainder).
// 3. makePlan: mesh + devices + layer costs -> stages, shares, and the step time the simulator
//    expects. All dp replicas share one layer split (data-parallel peers must own the same
//    layers), planned at each stage's slowest replica; shares start proportional to each
//    replica's throughput (1 / its bottleneck stage time) and are then refined by simulation
//    (see makePlan).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "partition/device_profile.h"
#include "partition/mesh.h"
#include "partition/simulator.h"

namespace mlcp::partition {

struct LayerCost {
  std::string name;
  double flops_fwd = 0;  // per sample
  double flops_bwd = 0;  // per sample
  int64_t param_bytes = 0;
  int64_t activation_bytes = 0;  // kept for backward, per sample
  int64_t output_bytes = 0;      // the layer's output, per sample (what recomputation keeps)
};

// What one pipeline stage runs on (for tp > 1: the whole tensor-parallel group).
struct StageDevice {
  double gflops = 1.0;       // effective GFLOP/s
  int64_t memory_bytes = 0;  // 0 = unlimited
};

struct PartitionOptions {
  int micro_batch_size = 1;
  // Bytes of training state per parameter byte: parameters + gradients + two Adam moments = 4.
  double state_bytes_per_param_byte = 4.0;
  // Micro-batches whose activations a stage holds at once (peakInFlight of the schedule), one
  // entry per stage; empty = 1 everywhere.
  std::vector<int> in_flight;
};

struct StageAssignment {
  int first_layer = 0;  // layers [first_layer, end_layer)
  int end_layer = 0;
  double time_s = 0;         // forward + backward of one micro-batch on this stage's device
  int64_t memory_bytes = 0;  // the memory model's need
};

struct Partition {
  std::vector<StageAssignment> stages;
  double bottleneck_s = 0;  // max over stages of time_s
};

// Exact DP (see above). Throws UsageError naming the constraint when there are fewer layers
// than stages or no contiguous split fits the memory budgets.
Partition partitionStages(const std::vector<LayerCost>& layers,
                          const std::vector<StageDevice>& stages, const PartitionOptions& opt);
// Tries all C(L-1, p-1) splits; for tests and small benchmarks. Same errors.
Partition partitionBruteForce(const std::vector<LayerCost>& layers,
                              const std::vector<StageDevice>& stages, const PartitionOptions& opt);
// Equal layer counts (the first L mod p stages get one more), ignoring speed; memory is
// evaluated but not enforced. The baseline a heterogeneity-aware plan is compared with.
Partition uniformPartition(const std::vector<LayerCost>& layers,
                           const std::vector<StageDevice>& stages, const PartitionOptions& opt);

// Integer shares of `total` micro-batches proportional to `speeds` (all > 0), summing to
// total: floor(total * s_i / sum) plus one for the largest remainders (ties: lower index
// first). When total >= n every share is then raised to at least 1 by taking one from the
// largest share (ties: the higher index) — a replica with no work would only idle. When
// total < n some replicas get 0. Deterministic.
std::vector<int> microBatchShares(const std::vector<double>& speeds, int total);

// ---- the plan --------------------------------------------------------------------------------

struct PlanInput {
  MeshShape mesh;
  std::vector<LayerCost> layers;
  std::vector<DeviceProfile> devices;  // one per rank; empty = identical devices
  int micro_batches = 1;               // logical micro-batches per global step
  int micro_batch_size = 1;            // samples per micro-batch
  std::string schedule = "1f1b";       // gpipe | 1f1b | interleaved
  int virtual_stages = 1;
  double state_bytes_per_param_byte = 4.0;
  double p2p_latency_s = 0.0;
  // false: equal layer counts and equal shares (the baseline plan a balanced one is compared
  // with); the step time is still simulated with the real device speeds.
  bool balance = true;
};

struct StagePlan {
  int virtual_stage = 0;
  int stage = 0;  // physical pipeline stage (virtual_stage % pp)
  int chunk = 0;
  int first_layer = 0;
  int end_layer = 0;
  double gflops = 0;  // the slowest replica's tp group at this stage (planned speed)
  double time_s = 0;  // forward + backward per micro-batch at that speed
  int64_t memory_need = 0;
  int64_t memory_budget = 0;  // 0 = unlimited
};

struct ReplicaPlan {
  int dp = 0;
  std::vector<int> ranks;  // pp * tp ranks of the replica
  double throughput = 0;   // micro-batches per second at its bottleneck stage
  int micro_batches = 0;   // its logical share
  double step_time_s = 0;  // simulated
  double bubble_fraction = 0;
};

struct Plan {
  MeshShape mesh;
  std::string schedule;
  int virtual_stages = 1;
  int micro_batches = 0;
  int micro_batch_size = 1;
  std::vector<std::string> layer_names;
  std::vector<DeviceProfile> devices;
  std::vector<StagePlan> stages;      // one per virtual stage, in model order
  std::vector<ReplicaPlan> replicas;  // one per dp index
  double step_time_s = 0;             // max over replicas
  std::vector<int> peak_in_flight;    // per physical stage, from the schedule
};

// Validates (UsageError naming the numbers: devices != ranks, layers < stages,
// micro-batches < dp, schedule constraints), partitions, shares and simulates.
// For interleaved, shares are handed out in units of pp micro-batches (the schedule needs a
// multiple of pp per replica), so micro_batches must be a multiple of pp.
Plan makePlan(const PlanInput& in);
std::string printPlan(const Plan& p);
nlohmann::json toJson(const Plan& p);
// Writes a picture of the plan (PNG, or SVG when the path ends in .svg): the mesh grid with
// ranks and devices, each stage's layer range, each replica's share and step time.
void renderPlan(const std::string& path, const Plan& p);

}  // namespace mlcp::partition
