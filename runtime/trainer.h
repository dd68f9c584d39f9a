// The training step loop, written so that its result is a function of the logical program alone
// (docs/architecture.md): the parameters after N steps are bitwise identical on any placement.
// The trainer is a conductor; each part has its own file and contract:
//   placement.h        mesh, devices and the partitioner's plan (also what `mlcp plan` prints)
//   model_state.h      parameters and optimizer state as this rank holds them, logical layout
//   executor.h         runs this rank's micro-batches (local_executor.h, pipeline_executor.h)
//   mean_gradient.h    the exact mean gradient over every micro-batch
//   state_chain.h      the per-step state hash chain, on a worker thread
//   checkpointer.h     signed checkpoints written in the background
//   step_observer.h    operator trace, timeline and planted faults, behind one interface
//   evaluator.h        held-out evaluation
//
// One step, as numbered steps (every rank):
//  1. The step's global batch is fixed by (seed, epoch) and split into M logical micro-batches
//     (data/sample_order.h). This rank runs the contiguous range of micro-batch indices its
//     data-parallel share names; the share never changes what a micro-batch contains.
//  2. For each of its micro-batches j: reseed LibTorch's generator with (seed, step, j, layer)
//     (dropout), forward, mean loss, backward from no gradient; keep the .grad tensors that
//     backward produced as micro-batch j's contribution (taken over, not copied).
//  3. Reduce the contributions of all M micro-batches over the data-parallel communicator with
//     collectives::ExactSum (fixed point int64 sums: independent of the order, the grouping and
//     the number of ranks), scaled by 1/M, straight into the .grad tensors: the mean gradient,
//     identical bits on every rank.
//  4. Optional global-norm clipping, then the optimizer update with the schedule's learning rate
//     for this step: the same inputs and kernels everywhere, so the same new parameters.
//  5. Per-micro-batch losses travel in slot j of a length-M vector (one writer per slot, so the
//     SUM allreduce is exact); the step's loss is their mean in index order.
// If the reduced gradient is not finite on any rank, every rank sees it and skips the update.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collectives/communicator.h"
#include "jobs/job_spec.h"
#include "partition/trace.h"
#include "runtime/evaluator.h"
#include "runtime/operator_trace.h"
#include "runtime/placement.h"
#include "runtime/progress.h"
#include "runtime/step_observer.h"

namespace mlcp::runtime {

struct TrainResult {
  int64_t steps = 0;
  int64_t samples = 0;
  double wall_seconds = 0;  // the step loop and the final checkpoint
  double loop_seconds = 0;  // the step loop alone (with its periodic checkpoints)
  // Of loop_seconds: the step loop's own time on state hashes and checkpoints (snapshots,
  // commits, waiting for background work) — what verification costs where spare cores run its
  // background threads.
  double verification_seconds = 0;
  double samples_per_second = 0;
  double final_train_loss = 0;
  EvalResult final_eval;
  double unigram_entropy_nats = 0;  // language models: the baseline to beat
  int64_t skipped_steps = 0;        // non-finite gradients
  std::string parameter_hash;       // BLAKE2b-256 of every parameter's bytes, in name order
  std::string state_file;           // RUN_DIR/final_state.bin
  int64_t start_step = 0;           // > 0 when resumed from a checkpoint
  std::string checkpoint_root;      // Merkle root of the final checkpoint (hex)
  std::string checkpoint_dir;       // RUN_DIR/checkpoints/step-N of the final step
  std::string run_dir;
  int64_t num_parameters = 0;
  int64_t stopped_at_step = -1;  // >= 0: stopped early on a signal, after this step
  // Memory of this rank: the optimizer state it holds, its peak resident set (getrusage), and
  // what the plan estimated (runtime/placement.h estimateRankMemory).
  int64_t optimizer_state_bytes = 0;
  int64_t peak_rss_bytes = 0;
  int64_t memory_estimate_bytes = 0;
};

struct TrainerOptions {
  std::string output_dir;     // overrides the job's output_dir when non-empty
  int64_t max_steps = -1;     // stops after this many steps (tests), -1 = the job's number
  bool show_progress = true;  // rank 0's progress line
  ProgressStyle progress_style = ProgressStyle::kAuto;
  bool quiet = false;  // no messages at all (re-executions inside another command)
  // A committed checkpoint folder to start from (resume or replay); empty = from the seed. It
  // must be of this job's program and data (runtime/program_check.h) and, when start_signer is
  // set (64 hex digits), signed by that key.
  std::string start_checkpoint;
  std::string start_signer;
  // A PyTorch state_dict file whose parameters replace the seed's before step 0
  // (runtime/parameter_import.h); "" = none. Only for a run that starts at step 0 (not a resume
  // from a checkpoint, which already holds them), and not under tensor parallelism.
  std::string init_from;
  PlantedFault fault;
  // Records every operator of step `operator_trace_step` (1-based) into *operator_trace, for
  // the dispute protocol (runtime/operator_trace.h); one process only. nullptr: no trace.
  OperatorTrace* operator_trace = nullptr;
  int64_t operator_trace_step = 0;
  // false: no checkpoints at all (a dispute's re-execution needs only the trace and hashes).
  bool write_checkpoints = true;
  // Called on rank 0 after each committed checkpoint with its step and root (the bridge
  // publishes commitments from here). It must be set on every rank (any callable elsewhere):
  // all ranks then agree whether it failed. An exception it throws fails the run on every rank —
  // after the checkpoint is safely on disk — and reaches the caller on rank 0.
  std::function<void(int64_t step, const verify::Hash256& root)> on_checkpoint;
  // Records this rank's timeline (`mlcp run --timeline`): pipeline actions, or each micro-batch's
  // forward and backward, then the reduction, the update and checkpoints, one lane each.
  // Borrowed; nullptr = none.
  partition::TraceRecorder* timeline = nullptr;
  // false: plan with equal layer counts and equal shares whatever the devices (the baseline a
  // balanced plan is compared with in bench_pipeline); the numbers are the same either way.
  bool balance_plan = true;
  // false: no per-step state hashes (bench_step --overhead measures what they cost; a run
  // without them cannot be replayed or disputed step by step).
  bool state_hashes = true;
  // Rank 0 takes volunteers when the job's [volunteers] table is enabled
  // (runtime/volunteer_coordinator.h). Only `mlcp run` sets it: replays, disputes and benches
  // re-execute the program and take none (the bits are the same either way).
  bool take_volunteers = false;
};

class Trainer {
 public:
  // `world` is the communicator of every process in the job (it is borrowed, not owned).
  Trainer(const jobs::JobSpec& spec, collectives::Communicator& world,
          const TrainerOptions& options = {});
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  TrainResult run();
  // The placement the run uses (the same on every rank).
  const Placement& placement() const;
  // The content hash of the job's data (data::DataSplits::content_hash).
  const std::string& dataHash() const;

  struct State;  // defined in trainer.cc

 private:
  std::unique_ptr<State> s_;
};

}  // namespace mlcp::runtime
