#include "runtime/cli/plan_command.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "jobs/job_spec.h"
#include "models/layer_model.h"
#include "partition/device_profile.h"
#include "partition/partitioner.h"
#include "runtime/error.h"
#include "runtime/job_setup.h"

namespace mlcp::cli {
namespace {

void planJob(const std::string& job_path, const std::string& devices_path, int ranks,
             std::string picture, bool json) {
  const jobs::JobSpec spec = jobs::loadJobSpec(job_path);
  const auto& par = spec.parallel;
  const int model_ranks = static_cast<int>(par.pp * par.tp);
  if (ranks <= 0) ranks = static_cast<int>(par.dp > 0 ? par.dp : 1) * model_ranks;
  jobs::checkWorldSize(spec, ranks);

  // Layer costs from the job's own model (built on the CPU from the seed; no data is read).
  torch::NoGradGuard no_grad;
  const int64_t classes = spec.data.kind == "text" ? 256 : 10;
  const auto model = models::buildModel(spec.model, classes, spec.seed);
  partition::PlanInput in = runtime::planInputFor(spec, *model, ranks);

  std::string devices_from;
  const std::string devices_file = !devices_path.empty() ? devices_path : spec.runtime.devices_file;
  in.devices.clear();
  if (!devices_file.empty()) {
    in.devices = partition::loadDevices(devices_file, ranks);
    devices_from = devices_file;
  } else {
    const double gflops = runtime::measureMatmulGflops(runtime::modelWidth(spec.model));
    in.devices = partition::uniformDevices(ranks, gflops, runtime::availableMemoryBytes() / ranks);
    devices_from = fmt::format("measured here: {:.1f} GFLOP/s float32 matmul, available memory "
                               "split over {} ranks",
                               gflops, ranks);
  }
  const partition::Plan plan = partition::makePlan(in);

  if (picture.empty()) picture = (std::filesystem::path(spec.output_dir) / "plan.png").string();
  std::error_code ec;
  const auto parent = std::filesystem::path(picture).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) throw IoError("cannot create " + parent.string() + ": " + ec.message());
  partition::renderPlan(picture, plan);

  if (json) {
    auto j = partition::toJson(plan);
    j["job"] = job_path;
    j["devices_from"] = devices_from;
    j["picture"] = picture;
    fmt::print("{}\n", j.dump(2));
    return;
  }
  fmt::print("job {} ({}), devices: {}\n\n", spec.name, job_path, devices_from);
  fmt::print("{}", partition::printPlan(plan));
  fmt::print("\npicture: {}\n", picture);
}

}  // namespace

void addPlanCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "plan", "Print and draw a job's mesh, stage layer ranges, micro-batch shares and expected "
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

}  // namespace mlcp::cli
