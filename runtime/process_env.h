// What a process can learn about its place in a job from the launcher's environment, before
// MPI is initialised: mpirun (Open MPI), srun (Slurm) and PMIx all export rank variables.
// Used to decide, before any communication, which process prints a user error (rank 0 only).
#pragma once

#include <string>

namespace mlcp {

struct LaunchEnv {
  int rank = 0;             // world rank, 0 when launched standalone
  int size = 1;             // world size
  int local_rank = 0;       // rank on this host
  std::string launcher;     // "standalone", "mpirun", "srun"
  std::string hostname;
};

// Reads OMPI_COMM_WORLD_*, SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID, PMIX_RANK.
LaunchEnv detectLaunchEnv();

}  // namespace mlcp
