// The operator trace and the referee (runtime/operator_trace.h, runtime/referee.h): for real
// traced steps of an MLP and of a GPT with dropout and gradient clipping, the referee's
// recomputation of every operator from the outputs of the ones before it hashes exactly like
// the trainer's own output — the property that makes a referee's verdict trustworthy. And a
// planted fault is the one operator the referee disagrees with.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>

#include "base/error.h"
#include "collectives/mpi/mpi_communicator.h"
#include "jobs/job_spec.h"
#include "runtime/operator_trace.h"
#include "runtime/referee.h"
#include "runtime/trainer.h"
#include "tests/common/test_util.h"
#include "tests/runtime/job_files.h"

namespace mlcp::runtime {
namespace {

class RefereeTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("MLCP_KEY_FILE", dir_.file("node.key").c_str(), 1); }

  OperatorTrace trace(const std::string& job_text, int64_t step, PlantedFault fault = {}) {
    const auto spec = jobs::parseJobSpec(job_text, dir_.file("job.toml"));
    collectives::MpiCommunicator self(MPI_COMM_SELF);
    OperatorTrace t;
    TrainerOptions opts;
    opts.output_dir = dir_.file("run-" + std::to_string(runs_++));
    opts.max_steps = step;
    opts.show_progress = false;
    opts.write_checkpoints = false;
    opts.operator_trace = &t;
    opts.operator_trace_step = step;
    opts.fault = fault;
    Trainer(spec, self, opts).run();
    return t;
  }

  // Indices of the operators whose recomputation differs from the trace.
  std::vector<std::string> disagreements(const std::string& job_text, const OperatorTrace& t) {
    const auto spec = jobs::parseJobSpec(job_text, dir_.file("job.toml"));
    collectives::MpiCommunicator self(MPI_COMM_SELF);
    Referee referee(spec, self);
    std::vector<std::string> out;
    for (size_t i = 1; i < t.operators().size(); ++i) {
      if (hashOperatorOutputs(referee.recompute(t, i)) != t.operators()[i].hash) {
        out.push_back(t.operators()[i].name);
      }
    }
    return out;
  }

  test::TempDir dir_;
  int runs_ = 0;
};

TEST_F(RefereeTest, OperatorNamesRoundTrip) {
  for (const auto& name : {"state", "mb3/data", "mb0/forward/2", "mb12/loss", "mb1/backward/0",
                           "reduce/4", "clip", "update/1"}) {
    EXPECT_EQ(OperatorId::parse(name).name(), name);
  }
  for (const auto& bad :
       {"", "mb/data", "mbx/loss", "mb1/forward", "reduce/", "update/a", "mb1/jump/2"}) {
    EXPECT_THROW(OperatorId::parse(bad), mlcp::Error) << bad;
  }
  EXPECT_EQ(layerOfParameter("layers.12.linear.weight"), 12);
  EXPECT_EQ(layerOfParameter("head.weight"), -1);
}

TEST_F(RefereeTest, RecomputesEveryOperatorOfAnMlpStepBitForBit) {
  const auto job = test::mlpJob("referee-mlp", 3);
  const auto t = trace(job, 3);
  // state, then per micro-batch data + 3 forward + loss + 3 backward, then 3 reduce + 3 update.
  ASSERT_EQ(t.operators().size(), 1u + 7 * 8 + 3 + 3);
  EXPECT_EQ(t.operators()[0].name, "state");
  EXPECT_EQ(t.step(), 3);
  EXPECT_EQ(disagreements(job, t), std::vector<std::string>{});
}

TEST_F(RefereeTest, RecomputesEveryOperatorOfAGptStepWithDropoutAndClippingBitForBit) {
  const auto job = test::gptJob("referee-gpt", 4);
  // Clipping adds the `clip` operator; dropout makes every forward depend on the generator.
  std::string clipped = job;
  clipped.replace(clipped.find("lr = 0.003"), 10, "lr = 0.003\ngrad_clip = 0.5");
  const auto t = trace(clipped, 4);
  EXPECT_TRUE(t.has("clip"));
  EXPECT_EQ(disagreements(clipped, t), std::vector<std::string>{});
}

TEST_F(RefereeTest, APlantedFaultIsTheOnlyOperatorTheRefereeRejects) {
  const auto job = test::mlpJob("referee-fault", 2);
  PlantedFault fault;
  fault.step = 2;
  fault.layer = 1;
  fault.micro_batch = 5;
  const auto t = trace(job, 2, fault);
  // Downstream operators are recomputed from the faulty party's own (wrong) inputs, so they
  // agree with it: only the planted operator itself is rejected.
  EXPECT_EQ(disagreements(job, t), std::vector<std::string>{"mb5/forward/1"});
}

}  // namespace
}  // namespace mlcp::runtime
