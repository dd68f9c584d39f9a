#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "base/error.h"
#include "partition/trace.h"
#include "tests/common/test_util.h"

namespace mlcp::partition {
namespace {

TEST(Trace, SimulatedTimelineBecomesChromeTrace) {
  Timeline t = simulate(oneFOneB(4, 8), uniformCosts(4, 1, 1e-3, 2e-3));
  TraceRecorder r = traceOf(t);
  mlcp::test::TempDir dir;
  std::string path = dir.file("trace.json");
  r.write(path);
  std::ifstream f(path);
  nlohmann::json j = nlohmann::json::parse(f);
  ASSERT_TRUE(j.contains("traceEvents"));
  int complete = 0, forwards = 0;
  std::set<int> pids;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] == "M") continue;
    ++complete;
    EXPECT_EQ(e["ph"], "X");
    pids.insert(e["pid"].get<int>());
    EXPECT_GE(e["dur"].get<double>(), 0.0);
    ASSERT_TRUE(e["args"].contains("micro_batch"));
    if (e["cat"] == "forward") {
      ++forwards;
      EXPECT_NEAR(e["dur"].get<double>(), 1000.0, 1e-6);  // 1 ms in microseconds
      EXPECT_EQ(e["tid"], 0);
    }
  }
  EXPECT_EQ(complete, static_cast<int>(t.events.size()));
  EXPECT_EQ(forwards, 4 * 8);
  EXPECT_EQ(pids, (std::set<int>{0, 1, 2, 3}));
}

TEST(Trace, BeginEndMeasuresSpans) {
  TraceRecorder r(3);
  int a = r.begin("F0", "forward", 0, {{"micro_batch", 0}});
  // Busy-wait on the recorder's own clock (no sleep): the span must be at least this long.
  double t0 = r.nowUs();
  while (r.nowUs() - t0 < 200.0) {
  }
  r.end(a);
  ASSERT_EQ(r.events().size(), 1u);
  EXPECT_EQ(r.events()[0].pid, 3);
  EXPECT_GE(r.events()[0].dur_us, 200.0);
  EXPECT_THROW(r.end(a), InvalidArgument);
  r.record("B0", "backward", 0, 10.0, 5.0);
  EXPECT_EQ(r.toJson()["traceEvents"].size(), 2u);
  EXPECT_THROW(r.write("/nonexistent-dir/x.json"), IoError);
}

}  // namespace
}  // namespace mlcp::partition
