#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "app/commands.h"
#include "base/error.h"
#include "jobs/job_spec.h"
#include "slurm/sbatch_script.h"
#include "slurm/slurm_client.h"

namespace mlcp::app {
namespace {

std::string selfExecutable() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw IoError("cannot read /proc/self/exe to find the mlcp binary");
  return std::string(buf, static_cast<size_t>(n));
}

void submitJob(const std::string& job_path, const slurm::SubmitOptions& flags, bool dry_run) {
  const jobs::JobSpec spec = jobs::loadJobSpec(job_path);
  const auto request = slurm::makeRequest(spec, flags, selfExecutable());
  const std::string script = slurm::renderSbatchScript(request);
  if (dry_run) {
    fmt::print("{}", script);
    return;
  }
  const std::string id = slurm::submit(request, script);
  fmt::print("submitted job {} ({} tasks on {} node(s)); run directory {}\n", id, request.tasks(),
             request.nodes, request.run_dir);
  fmt::print("follow it with: mlcp status {}   |   mlcp logs {}\n", id, id);
  std::fflush(stdout);
}

void printStatus(const std::string& id) {
  const auto s = slurm::jobState(id);
  fmt::print("job {} ({}): {}", s.id, s.name, s.state);
  if (!s.reason.empty() && s.reason != "None") fmt::print(" ({})", s.reason);
  if (!s.exit_code.empty()) fmt::print(", exit code {}", s.exit_code);
  fmt::print("\n");
}

void printLogs(const std::string& id) {
  const auto s = slurm::jobState(id);
  std::ifstream in(s.stdout_path);
  if (!in) {
    throw IoError(fmt::format("job {} ({}) has no output yet at {}", id, s.state, s.stdout_path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  fmt::print("{}", text.str());
}

}  // namespace

void addSubmitCommands(CLI::App& app) {
  auto* cmd = app.add_subcommand("submit", "Queue a job on Slurm (sbatch) and print its id");
  auto job = std::make_shared<std::string>();
  auto flags = std::make_shared<slurm::SubmitOptions>();
  auto dry_run = std::make_shared<bool>(false);
  cmd->add_option("job", *job, "Job file (TOML)")->required();
  cmd->add_flag("--dry-run", *dry_run, "Print the sbatch script instead of submitting it");
  cmd->add_option("--partition", flags->partition, "Slurm partition (default: slurm.partition)");
  cmd->add_option("--account", flags->account, "Slurm account (default: slurm.account)");
  cmd->add_option("--time", flags->time, "Time limit, e.g. 01:00:00 (default: slurm.time)");
  cmd->add_option("--nodes", flags->nodes, "Nodes (default: slurm.nodes)");
  cmd->add_option("--tasks-per-node", flags->tasks_per_node,
                  "MPI ranks per node (default: slurm.tasks_per_node, else from the plan)");
  cmd->add_option("--gpus-per-node", flags->gpus_per_node,
                  "GPUs per node (default: slurm.gpus_per_node)");
  cmd->add_option("--output", flags->output_dir, "Run directory (default: the job's output_dir)");
  cmd->callback([=] { submitJob(*job, *flags, *dry_run); });

  auto* status = app.add_subcommand("status", "A submitted job's Slurm state");
  auto status_id = std::make_shared<std::string>();
  status->add_option("jobid", *status_id, "Slurm job id")->required();
  status->callback([=] { printStatus(*status_id); });

  auto* logs = app.add_subcommand("logs", "A submitted job's output so far");
  auto logs_id = std::make_shared<std::string>();
  logs->add_option("jobid", *logs_id, "Slurm job id")->required();
  logs->callback([=] { printLogs(*logs_id); });
}

}  // namespace mlcp::app
