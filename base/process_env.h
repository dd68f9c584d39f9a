// What a process can learn about its place in a job from the launcher's environment, before
// MPI is initialised: mpirun (Open MPI), srun (Slurm) and PMIx all export rank variables.
// Used to decide, before any communication, which process prints a user error (rank 0 only).
#pragma once

#include <string>
#include <vector>

namespace mlcp {

struct LaunchEnv {
  int rank = 0;          // world rank, 0 when launched standalone
  int size = 1;          // world size
  int local_rank = 0;    // rank on this host
  int local_size = 1;    // ranks on this host
  std::string launcher;  // "standalone", "mpirun", "srun"
  std::string hostname;
  // GPU binding: the devices this process may use — CUDA_VISIBLE_DEVICES, else Slurm's
  // SLURM_STEP_GPUS / SLURM_JOB_GPUS (srun --gpus-per-task sets CUDA_VISIBLE_DEVICES to one
  // device per task) — and the one it binds to: local rank mod their count, -1 when none.
  std::vector<std::string> visible_gpus;
  std::string gpus_from;  // the variable they came from
  int gpu = -1;           // index into visible_gpus
};

// Reads OMPI_COMM_WORLD_*, SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID, PMIX_RANK, and the GPU
// variables above.
LaunchEnv detectLaunchEnv();

}  // namespace mlcp
