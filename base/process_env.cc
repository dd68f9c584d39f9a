#include "base/process_env.h"

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
    readInt("OMPI_COMM_WORLD_LOCAL_SIZE", &env.local_size);
  } else if (readInt("SLURM_PROCID", &env.rank)) {
    env.launcher = "srun";
    readInt("SLURM_NTASKS", &env.size);
    readInt("SLURM_LOCALID", &env.local_rank);
    // SLURM_TASKS_PER_NODE is "2(x3),1" shaped; the step's own count on this node is simpler.
    readInt("SLURM_STEP_TASKS_PER_NODE", &env.local_size);
  } else if (readInt("PMIX_RANK", &env.rank)) {
    env.launcher = "pmix";
    readInt("PMIX_LOCAL_SIZE", &env.local_size);
  }
  if (env.local_size < 1) env.local_size = 1;
  for (const char* var : {"CUDA_VISIBLE_DEVICES", "SLURM_STEP_GPUS", "SLURM_JOB_GPUS"}) {
    const char* v = std::getenv(var);
    if (v == nullptr || *v == '\0') continue;
    std::string item;
    for (const char* c = v;; ++c) {
      if (*c == ',' || *c == '\0') {
        if (!item.empty()) env.visible_gpus.push_back(item);
        item.clear();
        if (*c == '\0') break;
      } else {
        item += *c;
      }
    }
    env.gpus_from = var;
    break;
  }
  if (!env.visible_gpus.empty())
    env.gpu = env.local_rank % static_cast<int>(env.visible_gpus.size());
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) == 0) env.hostname = host;
  return env;
}

}  // namespace mlcp
