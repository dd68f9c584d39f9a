// The parts of a training job built from its spec alone — data, optimizer, learning-rate
// schedule — shared by the trainer and by the dispute referee (runtime/referee.h), which must
// rebuild exactly what a training run used.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "data/dataset.h"
#include "jobs/job_spec.h"
#include "models/operators.h"
#include "runtime/lr_schedule.h"

namespace mlcp::runtime {

// The train and held-out splits the job's [data] section names.
data::DataSplits loadJobData(const jobs::JobSpec& spec);

// The operator set the job's [runtime] ops names (models/operators.h).
models::Operators jobOperators(const jobs::JobSpec& spec);

// Gives LibTorch and the reproducible operators the job's runtime.intra_op_threads. Under the
// native set the count is part of the logical program (some LibTorch CPU kernels split
// reductions by thread count); the reproducible operators split independent outputs only.
void setIntraOpThreads(const jobs::JobSpec& spec);

// The job's optimizer over `params` (registration order): LibTorch's AdamW / SGD under the
// native operator set, their reproducible subclasses (ops/torch_optimizers.h) otherwise.
std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const jobs::OptimizerSpec& spec,
                                                       std::vector<torch::Tensor> params,
                                                       const models::Operators& ops);

void setLearningRate(torch::optim::Optimizer& optimizer, double lr);

// torch::nn::utils::clip_grad_norm_'s arithmetic for a model spread over pipeline stages:
// `norms` holds every parameter's gradient 2-norm in global parameter order (from all stages);
// the total is their 2-norm (Operators::combineNorms), the coefficient
// clamp(max_norm / (total + 1e-6), max = 1), and the gradients of `params` (this stage's)
// are scaled by it in place — whatever the placement, the same bits as clipping the whole
// model in one process. Native: the bits of clip_grad_norm_; reproducible: ops/grad_clip.h's.
void clipGradNorm(const std::vector<torch::Tensor>& params, const std::vector<float>& norms,
                  double max_norm, const models::Operators& ops);

// Randomness is counter-based: layer l of micro-batch j at step `step` (0-based) draws from the
// CPU generator seeded with (seed, step, j, l) — so a pipeline stage that runs only some of the
// layers, or a referee that recomputes one, draws exactly what a one-process run draws there.
void seedLayer(uint64_t seed, int64_t step, int64_t micro_batch, int64_t layer);

// A declared slower device (DEVICES.toml `slowdown`): after a computation that started at
// `start`, sleeps (slowdown - 1) times its duration, so it takes `slowdown` times as long.
// `meanwhile`, when given, is called about every millisecond of the sleep (what a rank would do
// while its device computes: rank 0 moves volunteers' bytes).
void emulateSlowdown(double slowdown, std::chrono::steady_clock::time_point start,
                     const std::function<void()>& meanwhile = {});

// Steps the job runs (train.steps, or epochs x steps per epoch of `train_samples`).
int64_t jobSteps(const jobs::JobSpec& spec, int64_t train_samples);

// The schedule over the job's whole horizon (`job_steps`), whatever --max-steps a run uses.
LrSchedule makeSchedule(const jobs::JobSpec& spec, int64_t job_steps);

}  // namespace mlcp::runtime
