// `mlcp plan JOB.toml [--devices DEVICES.toml] [--ranks N] [--picture PATH] [--json]`: the
// dp x pp x tp mesh of a job, each pipeline stage's layer range, each data-parallel replica's
// micro-batch share and the step time the simulator expects — without running the job — plus
// a picture of it (PNG, or SVG when PATH ends in .svg).
#pragma once

#include <CLI/CLI.hpp>

namespace mlcp::cli {

void addPlanCommand(CLI::App& app);

}  // namespace mlcp::cli
