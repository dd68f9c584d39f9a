#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "app/commands.h"
#include "app/work_estimate.h"
#include "base/error.h"
#include "data/dataset.h"
#include "jobs/job_spec.h"
#include "models/layer_model.h"
#include "partition/partitioner.h"
#include "runtime/job_setup.h"
#include "runtime/placement.h"

namespace mlcp::app {
namespace {

// The job's work (app/work_estimate.h) as text lines, and as JSON.
struct WorkReport {
  StepWork step;
  int64_t steps = 0, dp = 1;
  nlohmann::json toJson() const {
    return {{"forward_flops_per_step", step.forward_flops},
            {"backward_flops_per_step", step.backward_flops},
            {"optimizer_flops_per_step", step.optimizer_flops},
            {"flops_per_step", step.totalFlops()},
            {"memory_bytes_per_step", step.memory_bytes},
            {"exchange_bytes_per_rank_per_step", step.exchangeBytesPerRank(dp)},
            {"steps", steps},
            {"total_flops", step.totalFlops() * static_cast<double>(steps)},
            {"total_memory_bytes", step.memory_bytes * static_cast<double>(steps)}};
  }
  std::string describe(int64_t every) const {
    const double n = static_cast<double>(steps);
    std::string s = fmt::format(
        "work per step: forward {}, backward {}, optimizer {} (with the exact sum), total {}\n"
        "bytes moved per step: {} of memory traffic",
        formatFlops(step.forward_flops), formatFlops(step.backward_flops),
        formatFlops(step.optimizer_flops), formatFlops(step.totalFlops()),
        formatBytes(step.memory_bytes));
    if (dp > 1) {
      s += fmt::format(", {} sent by each of the {} data-parallel ranks",
                       formatBytes(step.exchangeBytesPerRank(dp)), dp);
    }
    s += fmt::format("\nwork of the job: {} steps, {} in all, {} moved", steps,
                     formatFlops(step.totalFlops() * n), formatBytes(step.memory_bytes * n));
    if (every > 0) {
      s += fmt::format("\nmarket units (GFLOP) per checkpoint interval of {} steps: {}", every,
                       unitsPerCheckpoint(step, every));
    }
    return s + "\n";
  }
};

// The placement `mlcp run` would use on `ranks` ranks (runtime/placement.h: the same function
// the run calls). Devices: --devices, else the job's runtime.devices_file, else (with pipeline
// stages) this machine measured once and taken for every rank (a run measures each rank).
void planJob(const std::string& job_path, const std::string& devices_path, int ranks,
             std::string picture, bool json) {
  jobs::JobSpec spec = jobs::loadJobSpec(job_path);
  if (!devices_path.empty()) spec.runtime.devices_file = devices_path;
  const auto& par = spec.parallel;
  if (ranks <= 0) ranks = static_cast<int>((par.dp > 0 ? par.dp : 1) * par.pp * par.tp);
  jobs::checkWorldSize(spec, ranks);
  // Layer costs from the job's own model (built on the CPU from the seed; no data is read).
  torch::NoGradGuard no_grad;
  const auto model =
      models::buildModel(spec.model, data::classCount(spec.data.kind, spec.data.path), spec.seed);
  std::string from;
  std::vector<double> measured(static_cast<size_t>(ranks), 0.0);
  int64_t memory = 0;
  if (spec.runtime.devices_file.empty()) {
    if (runtime::measuresDevices(spec, ranks)) {
      std::fill(measured.begin(), measured.end(), runtime::measureMatmulGflops(spec.model));
    }
    memory = runtime::availableMemoryBytes() / ranks;
  }
  auto devices = runtime::jobDevices(spec, ranks, measured, memory, &from);
  const auto placement = runtime::makePlacement(spec, model->costs(), std::move(devices), from);
  WorkReport work;
  work.step = estimateStepWork(spec, model->costs(), model->numParameters());
  work.dp = jobs::resolvedDp(spec, ranks);
  // Epoch-counted jobs need the training set's size (the only case that reads the data).
  work.steps = spec.train.steps > 0
                   ? spec.train.steps
                   : runtime::jobSteps(spec, runtime::loadJobData(spec).train->size());

  if (picture.empty()) picture = (std::filesystem::path(spec.output_dir) / "plan.png").string();
  std::error_code ec;
  const auto parent = std::filesystem::path(picture).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) throw IoError("cannot create " + parent.string() + ": " + ec.message());
  partition::renderPlan(picture, placement.plan);

  if (json) {
    auto j = partition::toJson(placement.plan);
    j["job"] = job_path;
    j["devices_from"] = placement.devices_from;
    j["picture"] = picture;
    j["work"] = work.toJson();
    fmt::print("{}\n", j.dump(2));
    return;
  }
  fmt::print("job {} ({})\n{}", spec.name, job_path, placement.describe());
  fmt::print("\n{}", work.describe(spec.checkpoint.every));
  fmt::print("\npicture: {}\n", picture);
}

}  // namespace

void addPlanCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "plan",
      "Print and draw a job's mesh, stage layer ranges, micro-batch shares and expected "
      "step time, without running it");
  auto job = std::make_shared<std::string>();
  auto devices = std::make_shared<std::string>();
  auto picture = std::make_shared<std::string>();
  auto ranks = std::make_shared<int>(0);
  auto json = std::make_shared<bool>(false);
  cmd->add_option("job", *job, "Job file (TOML)")->required();
  cmd->add_option("--devices", *devices,
                  "DEVICES.toml: each rank's GFLOP/s, memory and emulated slowdown (default: "
                  "runtime.devices_file, else this machine measured once for every rank)");
  cmd->add_option("--ranks", *ranks,
                  "Number of ranks to plan for (default: parallel.dp x pp x tp, dp = 1 when 0)");
  cmd->add_option("--picture", *picture,
                  "Where to draw the plan: .png or .svg (default: OUTPUT_DIR/plan.png)");
  cmd->add_flag("--json", *json, "Print the plan as JSON instead of text");
  cmd->callback([=] { planJob(*job, *devices, *ranks, *picture, *json); });
}

}  // namespace mlcp::app
