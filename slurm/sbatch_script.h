// A job's sbatch script, as printable data: `mlcp submit --dry-run` shows exactly what
// `mlcp submit` queues.
//
// The script asks for nodes x tasks-per-node tasks (one MPI rank each), starts them with
// `srun --mpi=pmix` (Open MPI's direct launch under Slurm; no mpirun, no ssh) and always runs
// `mlcp run --resume`: a first start finds no checkpoint and starts from the seed, and a job
// Slurm requeues (node failure, preemption, `scontrol requeue`) continues from its latest valid
// checkpoint — with bitwise the same result, because results do not depend on placement.
#pragma once

#include <string>

#include "jobs/job_spec.h"

namespace mlcp::slurm {

// [slurm] of the job, overridden by command-line flags (empty / negative = keep the job's).
struct SubmitOptions {
  std::string partition, account, time;
  int64_t nodes = -1, tasks_per_node = -1, gpus_per_node = -1;
  std::string output_dir;  // the run directory; "" = the job's output_dir
};

struct SbatchRequest {
  std::string job_name, partition, account, time;
  int64_t nodes = 1, tasks_per_node = 1, gpus_per_node = 0;
  bool requeue = true;
  std::string run_dir;      // absolute; Slurm's stdout/stderr go to RUN_DIR/slurm-%j.out
  std::string job_file;     // absolute
  std::string mlcp_binary;  // absolute
  int64_t tasks() const { return nodes * tasks_per_node; }
};

// Merges the job's [slurm] section with `flags`, derives tasks per node from the plan when
// neither gives it (dp x pp x tp with dp = 1 when the job leaves dp = 0, spread over the
// nodes), and checks the world size against the job's plan (UsageError naming the numbers).
SbatchRequest makeRequest(const jobs::JobSpec& spec, const SubmitOptions& flags,
                          const std::string& mlcp_binary);

// The script text.
std::string renderSbatchScript(const SbatchRequest& r);

}  // namespace mlcp::slurm
