// The parts of a training job built from its spec alone — data, optimizer, learning-rate
// schedule — shared by the trainer and by the dispute referee (runtime/referee.h), which must
// rebuild exactly what a training run used.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <vector>

#include "data/dataset.h"
#include "jobs/job_spec.h"
#include "partition/partitioner.h"
#include "runtime/lr_schedule.h"

namespace mlcp::models {
class LayerModel;
}

namespace mlcp::runtime {

// The train and held-out splits the job's [data] section names.
data::DataSplits loadJobData(const jobs::JobSpec& spec);

// The job's optimizer over `params` (registration order).
std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const jobs::OptimizerSpec& spec,
                                                       std::vector<torch::Tensor> params);

void setLearningRate(torch::optim::Optimizer& optimizer, double lr);

// torch::nn::utils::clip_grad_norm_'s arithmetic for a model spread over pipeline stages:
// `norms` holds every parameter's gradient 2-norm in global parameter order (from all stages);
// the total is their 2-norm (one norm when there is one parameter), the coefficient
// clamp(max_norm / (total + 1e-6), max = 1), and the gradients of `params` (this stage's)
// are scaled by it in place — the same bits as clip_grad_norm_ over the whole model.
void clipGradNorm(const std::vector<torch::Tensor>& params, const std::vector<float>& norms,
                  double max_norm);

// Randomness is counter-based: layer l of micro-batch j at step `step` (0-based) draws from the
// CPU generator seeded with (seed, step, j, l) — so a pipeline stage that runs only some of the
// layers, or a referee that recomputes one, draws exactly what a one-process run draws there.
void seedLayer(uint64_t seed, int64_t step, int64_t micro_batch, int64_t layer);

// A declared slower device (DEVICES.toml `slowdown`): after a computation that started at
// `start`, sleeps (slowdown - 1) times its duration, so it takes `slowdown` times as long.
void emulateSlowdown(double slowdown, std::chrono::steady_clock::time_point start);

// Steps the job runs (train.steps, or epochs x steps per epoch of `train_samples`).
int64_t jobSteps(const jobs::JobSpec& spec, int64_t train_samples);

// The schedule over the job's whole horizon (`job_steps`), whatever --max-steps a run uses.
LrSchedule makeSchedule(const jobs::JobSpec& spec, int64_t job_steps);

// Achieved float32 matmul GFLOP/s of this process at a square size near `width` (best of a few
// repetitions), and the memory the system reports available: a device profile measured at start.
double measureMatmulGflops(int64_t width);
int64_t availableMemoryBytes();
// The width the model's matmuls mostly have (d_model, the first hidden layer, ...).
int64_t modelWidth(const jobs::ModelSpec& model);

// The partitioner's input for this job on `ranks` ranks: the mesh, the model's layer costs,
// the micro-batching and schedule, and the devices of runtime.devices_file (identical devices
// when there is none — every rank must plan alike, so nothing measured per rank enters).
partition::PlanInput planInputFor(const jobs::JobSpec& spec, const models::LayerModel& model, int ranks);

}  // namespace mlcp::runtime
