#include "runtime/job_setup.h"

#include <thread>
#include <fstream>

#include "data/fashion_mnist.h"
#include "data/sample_order.h"
#include "models/layer_model.h"
#include "partition/device_profile.h"
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

void emulateSlowdown(double slowdown, std::chrono::steady_clock::time_point start) {
  if (slowdown <= 1.0) return;
  const auto took = std::chrono::steady_clock::now() - start;
  std::this_thread::sleep_for(std::chrono::duration_cast<std::chrono::nanoseconds>(took * (slowdown - 1.0)));
}

void seedLayer(uint64_t seed, int64_t step, int64_t micro_batch, int64_t layer) {
  torch::manual_seed(data::mixSeed({seed, static_cast<uint64_t>(step),
                                    static_cast<uint64_t>(micro_batch), static_cast<uint64_t>(layer)}));
}

void clipGradNorm(const std::vector<torch::Tensor>& params, const std::vector<float>& norms,
                  double max_norm) {
  if (norms.empty()) return;
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

// Achieved float32 matmul GFLOP/s of this process at a square size near the model's width,
// best of a few repetitions (the default device profile when no DEVICES.toml is given).
double measureMatmulGflops(int64_t width) {
  const int64_t n = std::max<int64_t>(64, std::min<int64_t>(width, 1024));
  auto a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::Tensor c = torch::matmul(a, b);  // warm-up
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 4; ++i) c = torch::matmul(a, b);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 4);
  }
  return 2.0 * static_cast<double>(n * n * n) / best / 1e9;
}

int64_t availableMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return int64_t{16} << 30;
}

int64_t modelWidth(const jobs::ModelSpec& m) {
  if (m.kind == "gpt") return m.d_model;
  if (m.kind == "mlp" && !m.hidden.empty()) return m.hidden.front();
  return 256;
}

partition::PlanInput planInputFor(const jobs::JobSpec& spec, const models::LayerModel& model, int ranks) {
  const auto& par = spec.parallel;
  const int model_ranks = static_cast<int>(par.pp * par.tp);
  partition::PlanInput in;
  in.mesh = {ranks / model_ranks, static_cast<int>(par.pp), static_cast<int>(par.tp)};
  in.micro_batches = static_cast<int>(spec.train.micro_batches);
  in.micro_batch_size = static_cast<int>(spec.train.global_batch / spec.train.micro_batches);
  in.schedule = par.schedule;
  in.virtual_stages = static_cast<int>(par.virtual_stages);
  for (const auto& c : model.costs()) {
    in.layers.push_back({c.name, c.forward_flops, c.backward_flops, static_cast<int64_t>(c.param_bytes),
                         static_cast<int64_t>(c.activation_bytes)});
  }
  if (!spec.runtime.devices_file.empty()) {
    in.devices = partition::loadDevices(spec.runtime.devices_file, ranks);
  } else {
    in.devices = partition::uniformDevices(ranks);
  }
  return in;
}

}  // namespace mlcp::runtime
