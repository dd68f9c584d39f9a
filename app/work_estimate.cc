#include "app/work_estimate.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>

#include "data/dataset.h"

namespace mlcp::app {
namespace {

// FLOPs per parameter of one optimizer step (see the header).
double optimizerFlopsPerParameter(const jobs::OptimizerSpec& o) {
  if (o.kind == "adamw") return 13.0;
  return o.momentum != 0.0 ? 5.0 : 3.0;
}

// Parameter-sized passes of one optimizer step: AdamW reads p, g, m, v and writes p, m, v.
double optimizerPasses(const jobs::OptimizerSpec& o) {
  if (o.kind == "adamw") return 7.0;
  return o.momentum != 0.0 ? 5.0 : 3.0;
}

std::string scaled(double v, const char* unit) {
  static const char* const kPrefix[] = {"", "k", "M", "G", "T", "P", "E"};
  int i = 0;
  while (std::fabs(v) >= 1000.0 && i < 6) {
    v /= 1000.0;
    ++i;
  }
  return fmt::format("{:.3g} {}{}", v, kPrefix[i], unit);
}

}  // namespace

double StepWork::exchangeBytesPerRank(int64_t dp) const {
  if (dp <= 1) return 0.0;
  return 12.0 * static_cast<double>(parameters) * static_cast<double>(dp - 1) /
         static_cast<double>(dp);
}

StepWork estimateStepWork(const jobs::JobSpec& spec, const std::vector<models::LayerCost>& layers,
                          int64_t parameters) {
  StepWork w;
  const double b = static_cast<double>(spec.train.global_batch);
  const double m = static_cast<double>(spec.train.micro_batches);
  const double p = static_cast<double>(parameters);
  double fwd = 0, bwd = 0, act = 0;
  for (const auto& l : layers) {
    fwd += l.flops_fwd;
    bwd += l.flops_bwd;
    act += static_cast<double>(l.activation_bytes);
  }
  w.parameters = parameters;
  w.forward_flops = b * fwd;
  w.backward_flops = b * bwd;
  w.optimizer_flops = p * (optimizerFlopsPerParameter(spec.optimizer) + m);
  const double pb = 4.0 * p;
  w.memory_bytes =
      m * pb * (2.0 + 1.0 + 5.0) + 2.0 * b * act + pb * (3.0 + optimizerPasses(spec.optimizer));
  return w;
}

StepWork estimateStepWork(const jobs::JobSpec& spec) {
  torch::NoGradGuard no_grad;
  const auto model =
      models::buildModel(spec.model, data::classCount(spec.data.kind, spec.data.path), spec.seed);
  return estimateStepWork(spec, model->costs(), model->numParameters());
}

uint64_t unitsPerCheckpoint(const StepWork& w, int64_t steps_per_checkpoint) {
  const double gflop = w.totalFlops() * static_cast<double>(steps_per_checkpoint) / 1e9;
  return std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(gflop)));
}

std::string formatFlops(double flops) { return scaled(flops, "FLOP"); }
std::string formatBytes(double bytes) { return scaled(bytes, "B"); }

}  // namespace mlcp::app
