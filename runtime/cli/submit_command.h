// `mlcp submit JOB.toml [--dry-run] [flags]`, `mlcp status JOBID`, `mlcp logs JOBID`: a job as
// a Slurm batch job (slurm/sbatch_script.h), queued with sbatch, then followed.
#pragma once

#include <CLI/CLI.hpp>

namespace mlcp::cli {

void addSubmitCommands(CLI::App& app);

}  // namespace mlcp::cli
