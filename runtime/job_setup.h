// The parts of a training job built from its spec alone — data, optimizer, learning-rate
// schedule — shared by the trainer and by the dispute referee (runtime/referee.h), which must
// rebuild exactly what a training run used.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "data/dataset.h"
#include "jobs/job_spec.h"
#include "runtime/lr_schedule.h"

namespace mlcp::runtime {

// The train and held-out splits the job's [data] section names.
data::DataSplits loadJobData(const jobs::JobSpec& spec);

// The job's optimizer over `params` (registration order).
std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const jobs::OptimizerSpec& spec,
                                                       std::vector<torch::Tensor> params);

void setLearningRate(torch::optim::Optimizer& optimizer, double lr);

// Steps the job runs (train.steps, or epochs x steps per epoch of `train_samples`).
int64_t jobSteps(const jobs::JobSpec& spec, int64_t train_samples);

// The schedule over the job's whole horizon (`job_steps`), whatever --max-steps a run uses.
LrSchedule makeSchedule(const jobs::JobSpec& spec, int64_t job_steps);

}  // namespace mlcp::runtime
