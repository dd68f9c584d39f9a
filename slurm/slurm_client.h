// Slurm's own commands (sbatch, sinfo, scontrol, scancel), run as child processes with an
// argument vector — never through a shell — and their output captured. Slurm finds its
// controller from SLURM_CONF or its default configuration; mlcp passes nothing else.
#pragma once

#include <string>
#include <vector>

#include "slurm/sbatch_script.h"

namespace mlcp::slurm {

struct CommandOutput {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

// Runs argv[0] (found on PATH) with `input` on its stdin. Throws IoError when it cannot start.
CommandOutput runSlurmCommand(const std::vector<std::string>& argv, const std::string& input = "");

// Checks what can be checked against the cluster before queueing (the partition exists) and
// submits the script; returns the job id. UsageError names an unknown partition and lists
// the cluster's; Error carries sbatch's own message otherwise.
std::string submit(const SbatchRequest& request, const std::string& script);

// One job's state ("PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", ...), from
// `scontrol show job`; UsageError for an id the controller does not know.
struct JobState {
  std::string id, name, state, reason, stdout_path, exit_code;
};
JobState jobState(const std::string& job_id);

}  // namespace mlcp::slurm
