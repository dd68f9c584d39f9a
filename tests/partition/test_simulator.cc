#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "partition/simulator.h"

namespace mlcp::partition {
namespace {

TEST(Simulator, EqualStagesMatchTheBubbleModel) {
  for (const char* name : {"gpipe", "1f1b"}) {
    for (int pp = 1; pp <= 4; ++pp) {
      for (int m = 1; m <= 16; ++m) {
        for (auto [f, b] : {std::pair{1.0, 2.0}, std::pair{1.0, 1.0}, std::pair{0.37, 0.91}}) {
          Timeline t = simulate(scheduleFor(name, pp, m), uniformCosts(pp, 1, f, b));
          double model = bubbleModel(name, pp, m);
          EXPECT_NEAR(t.bubble_fraction, model, 1e-9) << name << " pp " << pp << " m " << m;
          EXPECT_NEAR(t.step_time, (m + pp - 1) * (f + b), 1e-9 * (m + pp) * (f + b))
              << name << " pp " << pp << " m " << m;
          for (double busy : t.busy) EXPECT_NEAR(busy, m * (f + b), 1e-9 * m * (f + b));
        }
      }
    }
  }
}

TEST(Simulator, InterleavedMatchesItsBubbleModel) {
  for (int pp = 2; pp <= 4; ++pp) {
    for (int v = 2; v <= 3; ++v) {
      for (int m = pp; m <= 16; m += pp) {
        Timeline t = simulate(scheduleFor("interleaved", pp, m, v), uniformCosts(pp, v, 1.0, 2.0));
        double model = bubbleModel("interleaved", pp, m, v);
        EXPECT_NEAR(t.bubble_fraction, model, 1e-9)
            << "pp " << pp << " m " << m << " v " << v << " step " << t.step_time;
        // Interleaving never loses to plain 1F1B with the same stage times.
        Timeline plain = simulate(scheduleFor("1f1b", pp, m), uniformCosts(pp, 1, 1.0, 2.0));
        EXPECT_LE(t.step_time, plain.step_time + 1e-9);
      }
    }
  }
}

TEST(Simulator, LatencyAndUnequalStages) {
  // Two stages, stage 1 twice as slow: it is the bottleneck; with latency every hop adds time.
  StageCosts c;
  c.forward = {{1.0}, {2.0}};
  c.backward = {{2.0}, {4.0}};
  c.p2p_latency = 0.0;
  Timeline t = simulate(oneFOneB(2, 4), c);
  // Stage 1 runs 4 x 6 = 24 s of work and waits 1 s for the first activation; stage 0's last
  // backward follows the last gradient: 1 + 24 + 2 = 27.
  EXPECT_NEAR(t.step_time, 27.0, 1e-12);
  c.p2p_latency = 0.5;
  Timeline tl = simulate(oneFOneB(2, 4), c);
  EXPECT_NEAR(tl.step_time, 28.0, 1e-12);  // one hop forward, one hop back on the critical path
  // Events respect their stage's order and never overlap.
  for (size_t i = 1; i < tl.events.size(); ++i) {
    if (tl.events[i].stage == tl.events[i - 1].stage) {
      EXPECT_GE(tl.events[i].start, tl.events[i - 1].end - 1e-12);
    }
  }
}

TEST(Simulator, DeadlockThrowsAndUncheckedReports) {
  PipelineSchedule s = oneFOneB(2, 1);
  std::swap(s.actions[0][0], s.actions[0][2]);  // rg0 F0 sa0 B0: waits for a gradient first
  Timeline t = simulateUnchecked(s, uniformCosts(2, 1, 1, 2));
  EXPECT_FALSE(t.completed);
  EXPECT_NE(t.stall.find("stage 0 waits at action 0 (rg0 from stage 1)"), std::string::npos)
      << t.stall;
  EXPECT_THROW(simulate(s, uniformCosts(2, 1, 1, 2)), InvalidArgument);
  EXPECT_THROW(simulate(oneFOneB(3, 2), uniformCosts(2, 1, 1, 2)), InvalidArgument);
}

}  // namespace
}  // namespace mlcp::partition
