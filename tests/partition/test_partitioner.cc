#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

#include "base/error.h"
#include "partition/partitioner.h"

namespace mlcp::partition {
namespace {

std::vector<LayerCost> randomLayers(std::mt19937& rng, int n) {
  std::uniform_real_distribution<double> fl(1e8, 5e9);
  std::uniform_int_distribution<int64_t> bytes(1 << 20, 64 << 20);
  std::vector<LayerCost> out;
  for (int i = 0; i < n; ++i) {
    double f = fl(rng);
    out.push_back({"layer" + std::to_string(i), f, 2 * f, bytes(rng), bytes(rng)});
  }
  return out;
}

TEST(Partitioner, DynamicProgrammingEqualsBruteForce) {
  std::mt19937 rng(20261122);
  int feasible = 0, infeasible = 0;
  for (int trial = 0; trial < 200; ++trial) {
    int L = std::uniform_int_distribution<int>(1, 10)(rng);
    int P = std::uniform_int_distribution<int>(1, std::min(L, 5))(rng);
    auto layers = randomLayers(rng, L);
    std::vector<StageDevice> stages;
    for (int s = 0; s < P; ++s) {
      // Speeds 10..100 GFLOP/s; memory either unlimited or tight enough to bind sometimes.
      double g = std::uniform_real_distribution<double>(10, 100)(rng);
      int64_t mem =
          trial % 3 == 0 ? 0 : std::uniform_int_distribution<int64_t>(200 << 20, 1200 << 20)(rng);
      stages.push_back({g, mem});
    }
    PartitionOptions opt;
    opt.micro_batch_size = 1 + trial % 3;
    for (int s = 0; s < P; ++s) opt.in_flight.push_back(P - s);
    SCOPED_TRACE("trial " + std::to_string(trial) + ": L " + std::to_string(L) + " P " +
                 std::to_string(P));
    bool dp_threw = false, bf_threw = false;
    Partition a, b;
    try {
      a = partitionStages(layers, stages, opt);
    } catch (const UsageError&) {
      dp_threw = true;
    }
    try {
      b = partitionBruteForce(layers, stages, opt);
    } catch (const UsageError&) {
      bf_threw = true;
    }
    ASSERT_EQ(dp_threw, bf_threw);
    if (dp_threw) {
      ++infeasible;
      continue;
    }
    ++feasible;
    EXPECT_NEAR(a.bottleneck_s, b.bottleneck_s, 1e-12 * b.bottleneck_s);
    // The DP's split is contiguous, covers every layer, and fits memory.
    ASSERT_EQ(static_cast<int>(a.stages.size()), P);
    EXPECT_EQ(a.stages.front().first_layer, 0);
    EXPECT_EQ(a.stages.back().end_layer, L);
    for (int s = 0; s < P; ++s) {
      const auto& st = a.stages[static_cast<size_t>(s)];
      EXPECT_LT(st.first_layer, st.end_layer);
      if (s > 0) {
        EXPECT_EQ(st.first_layer, a.stages[static_cast<size_t>(s - 1)].end_layer);
      }
      if (stages[static_cast<size_t>(s)].memory_bytes > 0) {
        EXPECT_LE(st.memory_bytes, stages[static_cast<size_t>(s)].memory_bytes + 1);
      }
    }
  }
  // The sweep exercises both outcomes.
  EXPECT_GT(feasible, 100);
  EXPECT_GT(infeasible, 0);
}

TEST(Partitioner, SlowStagesGetFewerLayers) {
  std::vector<LayerCost> layers(12, LayerCost{"l", 1e9, 2e9, 0, 0});
  std::vector<StageDevice> stages = {{100, 0}, {100, 0}, {50, 0}, {50, 0}};
  Partition p = partitionStages(layers, stages, {});
  std::vector<int> counts;
  for (auto& s : p.stages) counts.push_back(s.end_layer - s.first_layer);
  EXPECT_EQ(counts, (std::vector<int>{4, 4, 2, 2}));
  Partition u = uniformPartition(layers, stages, {});
  EXPECT_NEAR(u.bottleneck_s / p.bottleneck_s, 1.5, 1e-12);
}

TEST(Partitioner, ErrorsNameTheConstraint) {
  std::vector<LayerCost> layers(3, LayerCost{"l", 1e9, 2e9, 1 << 30, 0});
  try {
    partitionStages(layers, std::vector<StageDevice>(4, {1, 0}), {});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("3 layers but the pipeline has 4 stages"),
              std::string::npos)
        << e.what();
  }
  try {
    // 1 GiB of params x 4 = 4 GiB per layer; budgets of 3 GiB cannot hold any layer.
    partitionStages(layers, std::vector<StageDevice>(3, {1, int64_t{3} << 30}), {});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("fits the memory budgets"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("alone needs 4 GiB"), std::string::npos) << e.what();
  }
}

TEST(Partitioner, SharesSumAndAreProportional) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 500; ++trial) {
    int n = std::uniform_int_distribution<int>(1, 8)(rng);
    int M = std::uniform_int_distribution<int>(0, 64)(rng);
    std::vector<double> speeds;
    for (int i = 0; i < n; ++i)
      speeds.push_back(std::uniform_real_distribution<double>(0.1, 10)(rng));
    auto s = microBatchShares(speeds, M);
    ASSERT_EQ(static_cast<int>(s.size()), n);
    EXPECT_EQ(std::accumulate(s.begin(), s.end(), 0), M);
    double sum = std::accumulate(speeds.begin(), speeds.end(), 0.0);
    bool raised = false;
    for (int i = 0; i < n; ++i) {
      EXPECT_GE(s[static_cast<size_t>(i)], 0);
      if (M >= n) {
        EXPECT_GE(s[static_cast<size_t>(i)], 1);
      }
      if (M * speeds[static_cast<size_t>(i)] / sum < 1) raised = true;
    }
    // Largest remainder: every share within 1 of its exact quota (unless some were raised to 1).
    if (!raised || M < n) {
      for (int i = 0; i < n; ++i) {
        EXPECT_LT(std::abs(s[static_cast<size_t>(i)] - M * speeds[static_cast<size_t>(i)] / sum),
                  1.0);
      }
    }
  }
  EXPECT_EQ(microBatchShares({1, 1, 1}, 4), (std::vector<int>{2, 1, 1}));  // tie: lower index
  EXPECT_EQ(microBatchShares({2, 1}, 12), (std::vector<int>{8, 4}));
  EXPECT_EQ(microBatchShares({100, 1}, 2), (std::vector<int>{1, 1}));      // each >= 1
  EXPECT_EQ(microBatchShares({1, 1, 1}, 2), (std::vector<int>{1, 1, 0}));  // M < n
  EXPECT_THROW(microBatchShares({1, 0}, 2), InvalidArgument);
}

std::vector<DeviceProfile> twoSlow() {
  auto d = uniformDevices(4, 100.0);
  d[2].slowdown = d[3].slowdown = 2.0;
  return d;
}

TEST(Plan, HeterogeneousPipelineBeatsUniformSplit) {
  PlanInput in;
  in.mesh = {1, 4, 1};
  in.layers.assign(24, LayerCost{"block", 1e9, 2e9, 10 << 20, 1 << 20});
  in.devices = twoSlow();
  // The bottleneck improves 1.5x; fill and drain dilute that at small m (1.36x at m = 8).
  in.micro_batches = 32;
  Plan p = makePlan(in);
  in.balance = false;
  Plan u = makePlan(in);
  EXPECT_EQ(p.stages[0].end_layer - p.stages[0].first_layer, 8);
  EXPECT_EQ(p.stages[3].end_layer - p.stages[3].first_layer, 4);
  double speedup = u.step_time_s / p.step_time_s;
  EXPECT_GE(speedup, 1.4) << printPlan(p) << printPlan(u);
  std::string text = printPlan(p);
  EXPECT_NE(text.find("expected step time"), std::string::npos);
  EXPECT_NE(text.find("[0, 8) 8"), std::string::npos) << text;
}

TEST(Plan, DataParallelSharesFollowSpeed) {
  PlanInput in;
  in.mesh = {2, 2, 1};
  in.layers.assign(8, LayerCost{"block", 1e9, 2e9, 0, 0});
  in.devices = twoSlow();  // replica 1 = ranks 2, 3 is 2x slower
  in.micro_batches = 12;
  Plan p = makePlan(in);
  EXPECT_EQ(p.replicas[0].micro_batches, 8);
  EXPECT_EQ(p.replicas[1].micro_batches, 4);
  in.balance = false;
  Plan u = makePlan(in);
  EXPECT_EQ(u.replicas[0].micro_batches, 6);
  EXPECT_GE(u.step_time_s / p.step_time_s, 1.4) << printPlan(p) << printPlan(u);
}

TEST(Plan, InterleavedAndTensorParallel) {
  PlanInput in;
  in.mesh = {1, 2, 2};
  in.layers.assign(8, LayerCost{"block", 1e9, 2e9, 0, 0});
  in.micro_batches = 4;
  in.schedule = "interleaved";
  in.virtual_stages = 2;
  Plan p = makePlan(in);
  ASSERT_EQ(p.stages.size(), 4u);
  for (const auto& s : p.stages) EXPECT_EQ(s.end_layer - s.first_layer, 2);
  EXPECT_EQ(p.stages[2].stage, 0);
  EXPECT_EQ(p.stages[2].chunk, 1);
  EXPECT_DOUBLE_EQ(p.stages[0].gflops, 2.0);  // tp 2 x 1 GFLOP/s
  EXPECT_NEAR(p.replicas[0].bubble_fraction, bubbleModel("interleaved", 2, 4, 2), 1e-9);
}

TEST(Plan, JsonCarriesTheNumbers) {
  PlanInput in;
  in.mesh = {2, 2, 1};
  in.layers.assign(8, LayerCost{"block", 1e9, 2e9, 0, 0});
  in.devices = twoSlow();
  in.micro_batches = 12;
  Plan p = makePlan(in);
  nlohmann::json j = toJson(p);
  EXPECT_EQ(j["mesh"]["dp"], 2);
  EXPECT_EQ(j["replicas"][0]["micro_batches"], 8);
  EXPECT_EQ(j["replicas"][1]["ranks"], (std::vector<int>{2, 3}));
  EXPECT_EQ(j["stages"][1]["end_layer"], 8);
  EXPECT_DOUBLE_EQ(j["step_time_s"].get<double>(), p.step_time_s);
  EXPECT_EQ(j["peak_in_flight"], (std::vector<int>{2, 1}));
}

TEST(Plan, RejectsImpossibleInputs) {
  PlanInput in;
  in.mesh = {2, 2, 1};
  in.layers.assign(4, LayerCost{"block", 1e9, 2e9, 0, 0});
  in.micro_batches = 4;
  in.devices = uniformDevices(3);
  EXPECT_THROW(makePlan(in), UsageError);  // 3 devices for 4 ranks
  in.devices.clear();
  in.micro_batches = 1;
  EXPECT_THROW(makePlan(in), UsageError);  // fewer micro-batches than replicas
  in.micro_batches = 4;
  in.layers.resize(1);
  EXPECT_THROW(makePlan(in), UsageError);  // layers < stages
  in.layers.assign(4, LayerCost{"block", 1e9, 2e9, 0, 0});
  in.schedule = "interleaved";
  in.virtual_stages = 2;
  in.micro_batches = 3;
  EXPECT_THROW(makePlan(in), UsageError);  // not divisible by pp
}

}  // namespace
}  // namespace mlcp::partition
