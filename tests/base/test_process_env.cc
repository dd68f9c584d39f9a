// The launch environment (runtime/process_env.h): rank variables of mpirun and srun, and the
// GPU binding taken from CUDA_VISIBLE_DEVICES or Slurm's GPU variables (local rank mod the
// visible devices) — checked on the parsed environment and through `mlcp info` under mpiexec.
#include <gtest/gtest.h>

#include <cstdlib>

#include "base/process_env.h"
#include "tests/common/test_util.h"

namespace mlcp {
namespace {

class ProcessEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v :
         {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "PMIX_RANK",
          "CUDA_VISIBLE_DEVICES", "SLURM_STEP_GPUS", "SLURM_JOB_GPUS"}) {
      unsetenv(v);
    }
  }
};

TEST_F(ProcessEnvTest, SrunRanksAndSlurmGpusBindByLocalRank) {
  setenv("SLURM_PROCID", "5", 1);
  setenv("SLURM_NTASKS", "8", 1);
  setenv("SLURM_LOCALID", "3", 1);
  setenv("SLURM_STEP_GPUS", "0,1", 1);
  const auto env = detectLaunchEnv();
  EXPECT_EQ(env.launcher, "srun");
  EXPECT_EQ(env.rank, 5);
  EXPECT_EQ(env.size, 8);
  EXPECT_EQ(env.local_rank, 3);
  EXPECT_EQ(env.visible_gpus, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(env.gpus_from, "SLURM_STEP_GPUS");
  EXPECT_EQ(env.gpu, 1);  // local rank 3 mod 2 devices
  // srun --gpus-per-task: one device per task in CUDA_VISIBLE_DEVICES, which wins.
  setenv("CUDA_VISIBLE_DEVICES", "7", 1);
  const auto one = detectLaunchEnv();
  EXPECT_EQ(one.visible_gpus, (std::vector<std::string>{"7"}));
  EXPECT_EQ(one.gpu, 0);
  for (const char* v : {"SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"}) unsetenv(v);
}

TEST_F(ProcessEnvTest, NoGpusMeansNoBinding) {
  const auto env = detectLaunchEnv();
  EXPECT_TRUE(env.visible_gpus.empty());
  EXPECT_EQ(env.gpu, -1);
}

TEST_F(ProcessEnvTest, MlcpInfoReportsEachRanksDevice) {
  const auto r = test::runCommand("CUDA_VISIBLE_DEVICES=3,5 " + test::mpiexec(2) +
                                  " -x CUDA_VISIBLE_DEVICES " + test::mlcpBinary() + " info");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("gpu 3 (of CUDA_VISIBLE_DEVICES=3,5)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("gpu 5 (of CUDA_VISIBLE_DEVICES=3,5)"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace mlcp
