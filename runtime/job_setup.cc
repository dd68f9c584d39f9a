#include "runtime/job_setup.h"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "base/error.h"
#include "data/fashion_mnist.h"
#include "data/sample_order.h"
#include "data/text_corpus.h"
#include "data/token_data.h"
#include "ops/grad_clip.h"
#include "ops/parallel.h"
#include "ops/torch_optimizers.h"

namespace mlcp::runtime {

data::DataSplits loadJobData(const jobs::JobSpec& spec) {
  const auto& d = spec.data;
  if (d.kind == "fashion-mnist") return data::loadFashionMnist(d.path, d.train_limit, d.eval_limit);
  if (d.kind == "text") {
    return data::loadTextCorpus(d.path, spec.model.context, d.holdout_fraction, d.train_limit,
                                d.eval_limit);
  }
  if (d.kind == "tokens") {
    data::TokenDataOptions o;
    for (const auto& s : d.sources) o.sources.push_back({s.path, s.weight});
    o.vocabulary = d.vocabulary;
    o.context = spec.model.context;
    o.holdout_fraction = d.holdout_fraction;
    o.train_limit = d.train_limit;
    o.eval_limit = d.eval_limit;
    o.seed = spec.seed;
    return data::loadTokenData(o);
  }
  throw UsageError("data.kind '" + d.kind + "' is not one of fashion-mnist, text, tokens");
}

models::Operators jobOperators(const jobs::JobSpec& spec) {
  return models::Operators(models::parseOpSet(spec.runtime.ops, "runtime.ops"));
}

void setIntraOpThreads(const jobs::JobSpec& spec) {
  const int n = static_cast<int>(spec.runtime.intra_op_threads);
  torch::set_num_threads(n);
  ops::setNumThreads(n);
}

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const jobs::OptimizerSpec& o,
                                                       std::vector<torch::Tensor> params,
                                                       const models::Operators& ops) {
  if (o.kind == "adamw") {
    auto opts = torch::optim::AdamWOptions(o.lr)
                    .betas({o.beta1, o.beta2})
                    .eps(o.eps)
                    .weight_decay(o.weight_decay);
    if (ops.reproducible()) {
      return std::make_unique<ops::nn::ReproducibleAdamW>(std::move(params), opts);
    }
    return std::make_unique<torch::optim::AdamW>(std::move(params), opts);
  }
  if (o.kind == "sgd") {
    auto opts = torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay);
    if (ops.reproducible()) {
      return std::make_unique<ops::nn::ReproducibleSgd>(std::move(params), opts);
    }
    return std::make_unique<torch::optim::SGD>(std::move(params), opts);
  }
  throw UsageError("optimizer.kind '" + o.kind + "' is not one of adamw, sgd");
}

void setLearningRate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

int64_t jobSteps(const jobs::JobSpec& spec, int64_t train_samples) {
  const int64_t steps_per_epoch = train_samples / spec.train.global_batch;
  if (spec.train.steps > 0) return spec.train.steps;
  int64_t steps = 0;
  if (__builtin_mul_overflow(spec.train.epochs, steps_per_epoch, &steps)) {
    throw UsageError(fmt::format("train.epochs = {} of {} steps each overflows a step count",
                                 spec.train.epochs, steps_per_epoch));
  }
  return steps;
}

LrSchedule makeSchedule(const jobs::JobSpec& spec, int64_t job_steps) {
  LrSchedule s;
  s.kind = spec.lr_schedule.kind;
  s.base_lr = spec.optimizer.lr;
  s.warmup_steps = spec.lr_schedule.warmup_steps;
  s.total_steps = job_steps;
  s.min_lr_ratio = spec.lr_schedule.min_lr_ratio;
  s.reproducible = jobOperators(spec).reproducible();
  return s;
}

void emulateSlowdown(double slowdown, std::chrono::steady_clock::time_point start,
                     const std::function<void()>& meanwhile) {
  if (slowdown <= 1.0) return;
  using Clock = std::chrono::steady_clock;
  const auto now = Clock::now();
  const auto until =
      now + std::chrono::duration_cast<Clock::duration>((now - start) * (slowdown - 1.0));
  if (!meanwhile) {
    std::this_thread::sleep_until(until);
    return;
  }
  while (Clock::now() < until) {
    meanwhile();
    std::this_thread::sleep_until(std::min(until, Clock::now() + std::chrono::milliseconds(1)));
  }
}

void seedLayer(uint64_t seed, int64_t step, int64_t micro_batch, int64_t layer) {
  torch::manual_seed(
      data::mixSeed({seed, static_cast<uint64_t>(step), static_cast<uint64_t>(micro_batch),
                     static_cast<uint64_t>(layer)}));
}

void clipGradNorm(const std::vector<torch::Tensor>& params, const std::vector<float>& norms,
                  double max_norm, const models::Operators& ops) {
  if (norms.empty()) return;
  if (ops.reproducible()) {
    const float coef = ops::clipCoefficient(ops.combineNorms(norms), max_norm);
    torch::NoGradGuard no_grad;
    for (const auto& p : params) {
      if (p.grad().defined()) p.grad().mul_(coef);
    }
    return;
  }
  torch::Tensor total;
  if (norms.size() == 1) {
    total = torch::tensor(norms[0]).reshape({});
  } else {
    std::vector<torch::Tensor> each;
    for (float n : norms) each.push_back(torch::tensor(n).reshape({}));
    total = torch::stack(each).norm(2);
  }
  auto coef = max_norm / (total + 1e-6);
  auto clamped = torch::clamp(coef, c10::nullopt, 1.0);
  for (const auto& p : params) {
    if (p.grad().defined()) p.grad().data().mul_(clamped);
  }
}

}  // namespace mlcp::runtime
