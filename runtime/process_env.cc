#include "runtime/process_env.h"

#include <unistd.h>

#include <cstdlib>

namespace mlcp {
namespace {

bool readInt(const char* name, int* out) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return false;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  if (*end != '\0') return false;
  *out = static_cast<int>(x);
  return true;
}

}  // namespace

LaunchEnv detectLaunchEnv() {
  LaunchEnv env;
  env.launcher = "standalone";
  if (readInt("OMPI_COMM_WORLD_RANK", &env.rank)) {
    env.launcher = "mpirun";
    readInt("OMPI_COMM_WORLD_SIZE", &env.size);
    readInt("OMPI_COMM_WORLD_LOCAL_RANK", &env.local_rank);
  } else if (readInt("SLURM_PROCID", &env.rank)) {
    env.launcher = "srun";
    readInt("SLURM_NTASKS", &env.size);
    readInt("SLURM_LOCALID", &env.local_rank);
  } else if (readInt("PMIX_RANK", &env.rank)) {
    env.launcher = "pmix";
  }
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) == 0) env.hostname = host;
  return env;
}

}  // namespace mlcp
