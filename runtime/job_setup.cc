#include "runtime/job_setup.h"

#include "data/fashion_mnist.h"
#include "data/text_corpus.h"
#include "runtime/error.h"

namespace mlcp::runtime {

data::DataSplits loadJobData(const jobs::JobSpec& spec) {
  const auto& d = spec.data;
  if (d.kind == "fashion-mnist") return data::loadFashionMnist(d.path, d.train_limit, d.eval_limit);
  if (d.kind == "text") {
    return data::loadTextCorpus(d.path, spec.model.context, d.holdout_fraction, d.train_limit,
                                d.eval_limit);
  }
  throw UsageError("data.kind '" + d.kind + "' is not one of fashion-mnist, text");
}

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const jobs::OptimizerSpec& o,
                                                       std::vector<torch::Tensor> params) {
  if (o.kind == "adamw") {
    auto opts = torch::optim::AdamWOptions(o.lr)
                    .betas({o.beta1, o.beta2})
                    .eps(o.eps)
                    .weight_decay(o.weight_decay);
    return std::make_unique<torch::optim::AdamW>(std::move(params), opts);
  }
  if (o.kind == "sgd") {
    auto opts = torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay);
    return std::make_unique<torch::optim::SGD>(std::move(params), opts);
  }
  throw UsageError("optimizer.kind '" + o.kind + "' is not one of adamw, sgd");
}

void setLearningRate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

int64_t jobSteps(const jobs::JobSpec& spec, int64_t train_samples) {
  const int64_t steps_per_epoch = train_samples / spec.train.global_batch;
  return spec.train.steps > 0 ? spec.train.steps : spec.train.epochs * steps_per_epoch;
}

LrSchedule makeSchedule(const jobs::JobSpec& spec, int64_t job_steps) {
  LrSchedule s;
  s.kind = spec.lr_schedule.kind;
  s.base_lr = spec.optimizer.lr;
  s.warmup_steps = spec.lr_schedule.warmup_steps;
  s.total_steps = job_steps;
  s.min_lr_ratio = spec.lr_schedule.min_lr_ratio;
  return s;
}

}  // namespace mlcp::runtime
