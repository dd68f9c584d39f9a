// Where a job's logical program runs: the dp x pp x tp mesh, every rank's device profile and the
// partitioner's plan — each pipeline stage's layer range, each data-parallel replica's share of
// the logical micro-batches, the step time the simulator expects. One printable value, made by
// one function (makePlacement) that `mlcp run` and `mlcp plan` both call, so the plan a person
// reads is the plan a run uses. Nothing in it changes a number of the result: it only says who
// computes what (docs/partition.md).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "collectives/communicator.h"
#include "jobs/job_spec.h"
#include "jobs/memory_estimate.h"
#include "models/layer_model.h"
#include "partition/device_profile.h"
#include "partition/mesh.h"
#include "partition/partitioner.h"

namespace mlcp::runtime {

struct Placement {
  partition::Plan plan;
  std::string devices_from;  // where the device profiles came from, in words
  std::string memory;        // the per-rank memory estimate, in words (estimateRankMemory)
  // [replica] -> its logical micro-batches [begin, end): contiguous, in replica order.
  std::vector<std::pair<int64_t, int64_t>> micro_batches;

  const partition::MeshShape& mesh() const { return plan.mesh; }
  int worldSize() const { return plan.mesh.size(); }
  // The physical pipeline stage that holds `layer`.
  int stageOfLayer(int64_t layer) const;
  // The layer ranges [first, end) of `stage`'s model chunks, in chunk order.
  std::vector<std::pair<int64_t, int64_t>> chunksOfStage(int stage) const;
  // What `mlcp plan` prints and a run prints at start: where the devices came from, the plan
  // (partition::printPlan), then the memory estimate.
  std::string describe() const;
  // One line for the checkpoint manifest's plan field.
  std::string summary() const;
};

// The memory one rank of the busiest stage needs, as its peak resident set:
// - the training state (jobs::estimateMemory);
// - activations: the larger of the training's — per micro-batch the stage's layers'
//   activation_bytes (with runtime.recompute: every layer's output_bytes plus the largest
//   layer's activation_bytes), times the micro-batch size, times the micro-batches in flight
//   (1 without a pipeline; pp under 1F1B and interleaving; all local ones under GPipe) — and the
//   evaluation's (no gradients, one layer at a time: the stage's largest activation_bytes times
//   kEvalBatch samples), which run at different times;
// - the exact sum's buffers (collectives/exact_sum.h): one int64 per parameter of the rank (the
//   streaming sums on one rank), plus a float of the ring's gathered result and one of its send
//   buffer on dp > 1 ranks;
// - the data set held in memory: Fashion-MNIST as float32 images (with the uint8 ones they are
//   converted from, alive together while loading), a text corpus as int64 bytes (token shards
//   are memory-mapped and not counted);
// - the process itself: LibTorch's, MPI's and UCX's libraries and their start-up allocations,
//   kRuntimeBytes (measured: a one-step run of a 700-parameter GPT peaks at 220 MiB, 20 of them
//   its corpus).
struct RankMemory {
  static constexpr int64_t kRuntimeBytes = int64_t{200} << 20;
  jobs::MemoryEstimate state;
  int64_t activation_bytes = 0;  // the larger of the two below
  int64_t train_activation_bytes = 0;
  int64_t eval_activation_bytes = 0;
  int64_t exact_sum_bytes = 0;
  int64_t data_bytes = 0;
  int64_t runtime_bytes = kRuntimeBytes;
  // The training's and the evaluation's activations run at different times: the larger counts.
  int64_t activationBytes() const {
    return std::max(train_activation_bytes, eval_activation_bytes);
  }
  int64_t total() const;
};
// Throws UsageError unless the model's `layers` give every one of the pp * virtual_stages
// pipeline chunks a layer. jobs/ checks the built-in kinds when the job is read; a registered
// kind's layer count is known once it is built (makePlacement, `mlcp validate`).
void checkPipelineFits(const jobs::JobSpec& spec, int64_t layers);

RankMemory estimateRankMemory(const jobs::JobSpec& spec,
                              const std::vector<models::LayerCost>& layers,
                              const partition::Plan& plan);

// This process's achieved float32 matmul GFLOP/s at the width the model's matmuls mostly have
// (best of a few repetitions), and the memory the system reports available: a rank's device
// profile when the job declares none.
double measureMatmulGflops(const jobs::ModelSpec& model);
int64_t availableMemoryBytes();

// UsageError, before anything is allocated, when `ranks_here` ranks of `spec` on `world_size`
// would need more memory than this machine has available (jobs::estimateMemory); returns the
// estimate otherwise. `parameters`: the model's parameter count when the caller has built it (a
// registered kind, which only its builder can count); -1 counts a built-in kind from its spec and
// builds a registered one here.
jobs::MemoryEstimate checkMemoryFits(const jobs::JobSpec& spec, int world_size, int ranks_here,
                                     int64_t parameters = -1);

// Whether a run of `spec` on `world_size` ranks measures each rank's speed at start: only to cut
// pipeline stages (pp > 1) without a devices file. Data-parallel replicas share micro-batches
// evenly unless a devices file declares their speeds, so measurement noise never moves them.
bool measuresDevices(const jobs::JobSpec& spec, int world_size);

// The device profiles of `spec` on `world_size` ranks: the job's runtime.devices_file when it
// names one; equal devices when measuresDevices is false; otherwise `measured_gflops` (one per
// rank) with every speed within 25% of their median counted as the median — identical machines
// measured with noise plan alike, while a 2x slower device is seen. `memory_bytes` each (without
// a devices file). `from` receives where they came from.
std::vector<partition::DeviceProfile> jobDevices(const jobs::JobSpec& spec, int world_size,
                                                 const std::vector<double>& measured_gflops,
                                                 int64_t memory_bytes, std::string* from);

// The placement of `spec` on `devices.size()` ranks. `layers`: the logical model's per-layer
// costs (LayerModel::costs()). `balance` = false: equal layer counts and equal shares whatever
// the devices (the baseline bench_pipeline compares a balanced plan with). UsageError when the
// job cannot be placed (world size, layers < stages, memory).
Placement makePlacement(const jobs::JobSpec& spec, const std::vector<models::LayerCost>& layers,
                        std::vector<partition::DeviceProfile> devices, std::string devices_from,
                        bool balance = true);

// Collective over `world`: each rank measures its device (unless the job declares them), the
// measurements are shared, and every rank makes the same placement.
Placement placeJob(const jobs::JobSpec& spec, const std::vector<models::LayerCost>& layers,
                   collectives::Communicator& world, const collectives::CollectiveOptions& opts,
                   bool balance = true);

// This rank's communicators in the mesh. dp is the world itself when pp = tp = 1; pp and tp are
// nullptr when that dimension is 1.
struct ProcessGroups {
  partition::MeshCoord coord;
  collectives::Communicator* world = nullptr;
  collectives::Communicator* dp = nullptr;  // this rank's data-parallel peers
  collectives::Communicator* pp = nullptr;  // this replica's pipeline stages (rank = stage)
  collectives::Communicator* tp = nullptr;  // this stage's tensor-parallel group
  std::unique_ptr<collectives::Communicator> dp_owned, pp_owned, tp_owned;
};
// Collective over `world` (splits it).
ProcessGroups makeProcessGroups(const partition::MeshShape& mesh, collectives::Communicator& world);

// [begin, end) of part `r` of `count` items split over `d` parts: contiguous, as equal as
// possible, the first count % d parts one more.
std::pair<int64_t, int64_t> evenRange(int64_t count, int r, int d);

}  // namespace mlcp::runtime
