// The asynchronous checkpointer (runtime/checkpointer.h) on 2 ranks: a checkpoint written in the
// background holds the state of the step it was begun at, even when the live tensors change
// right after the snapshot; it is not visible as a checkpoint until the ranks commit it; and a
// rank that cannot write its shard fails the checkpoint on every rank while the previous
// checkpoint stays the latest valid one. checkpoint.keep deletes the oldest committed ones.
#include <gtest/gtest.h>
#include <mpi.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "collectives/mpi/mpi_communicator.h"
#include "runtime/checkpointer.h"
#include "tests/common/test_util.h"
#include "verify/checkpoint.h"

namespace mlcp::runtime {
namespace {

using collectives::DataType;
using collectives::ReduceOp;

class CheckpointerTest : public ::testing::Test {
 protected:
  collectives::MpiCommunicator world{MPI_COMM_WORLD};
  const int rank = world.rank();
  // One folder for every rank: rank 0's, broadcast.
  std::unique_ptr<test::TempDir> dir = rank == 0 ? std::make_unique<test::TempDir>() : nullptr;
  std::string root = [this] {
    std::string path(4096, '\0');
    if (rank == 0) path.replace(0, dir->path().size(), dir->path());
    world.broadcast(path.data(), 4096, DataType::kUInt8, 0);
    return std::string(path.c_str());
  }();
  verify::KeyPair key = verify::KeyPair::fromSeed({7});
  void TearDown() override { world.barrier(); }  // rank 0 removes the folder afterwards

  Checkpointer checkpointer(const std::string& run, int64_t keep = 0) {
    return Checkpointer(root + "/" + run, world, key, "job text", {"job.toml", "", ""}, "test plan",
                        {}, keep);
  }
  // This rank's share of a state whose values depend on `v`.
  std::vector<NamedTensor> state(float v) const {
    const std::string r = "rank" + std::to_string(rank);
    return {{r + "/weight", torch::full({64, 33}, v + static_cast<float>(rank))},
            {r + "/bias", torch::arange(17, torch::kFloat32) * v}};
  }
};

TEST_F(CheckpointerTest, BackgroundCheckpointHoldsTheStateOfItsStep) {
  const auto expected = checkpointer("sync").save(5, state(1.5f));

  auto live = state(1.5f);
  auto c = checkpointer("async");
  c.begin(5, live);
  c.waitForSnapshot();
  for (auto& t : live) t.tensor.fill_(-9.0f);  // the next update, while the shard is written
  // Not a checkpoint before the ranks commit it.
  EXPECT_FALSE(verify::latestValidCheckpoint(root + "/async").checkpoint.has_value());
  // The trainer's protocol: advance only when every rank's part of the phase is done.
  int phases = 0;
  std::optional<verify::Hash256> committed;
  while (!committed) {
    int32_t ready = c.localReady() ? 1 : 0;
    world.allreduce(&ready, 1, DataType::kInt32, ReduceOp::kMin);
    if (ready == 0) continue;
    ++phases;
    committed = c.advance();
  }
  EXPECT_EQ(phases, 2) << "shards on disk, then rank 0's commit";
  EXPECT_FALSE(c.inFlight());
  EXPECT_EQ(committed->hex(), expected.hex()) << "the snapshot, not the changed tensors";
  const auto latest = verify::latestValidCheckpoint(root + "/async");
  ASSERT_TRUE(latest.root.has_value());
  EXPECT_EQ(latest.root->hex(), expected.hex());
  auto reader = verify::CheckpointReader::open(verify::checkpointDir(root + "/async", 5));
  const auto bias = readCheckpointTensor(reader, "rank1/bias");
  EXPECT_TRUE(torch::equal(bias, torch::arange(17, torch::kFloat32) * 1.5f));
}

TEST_F(CheckpointerTest, ShardThatCannotBeWrittenFailsEveryRankAndKeepsThePreviousCheckpoint) {
  auto c = checkpointer("failing");
  const auto first = c.save(10, state(1.0f));
  auto bad = state(2.0f);
  // A dtype that no checkpoint stores: rank 1's background writer fails on it.
  if (rank == 1) bad.push_back({"rank1/half", torch::zeros({3}, torch::kFloat16)});
  c.begin(20, bad);
  try {
    c.finish();
    FAIL() << "the checkpoint was committed";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint 20: rank 1 could not write its shard"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(c.inFlight());
  world.barrier();
  const auto latest = verify::latestValidCheckpoint(root + "/failing");
  ASSERT_TRUE(latest.checkpoint.has_value());
  EXPECT_EQ(latest.checkpoint->step, 10);
  EXPECT_EQ(latest.root->hex(), first.hex());
  // The checkpointer is usable again: the next checkpoint commits.
  EXPECT_NO_THROW(c.save(30, state(3.0f)));
  EXPECT_EQ(verify::latestValidCheckpoint(root + "/failing").checkpoint->step, 30);
}

TEST_F(CheckpointerTest, KeepDeletesTheOldestCommittedCheckpoints) {
  auto c = checkpointer("keep", 2);
  std::vector<std::string> roots;
  for (int64_t step : {0, 10, 20, 30})
    roots.push_back(c.save(step, state(static_cast<float>(step))).hex());
  world.barrier();
  std::vector<int64_t> left;
  for (const auto& info : verify::listCheckpoints(root + "/keep")) left.push_back(info.step);
  EXPECT_EQ(left, (std::vector<int64_t>{20, 30}));
  EXPECT_EQ(verify::latestValidCheckpoint(root + "/keep").root->hex(), roots.back());
}

}  // namespace
}  // namespace mlcp::runtime
