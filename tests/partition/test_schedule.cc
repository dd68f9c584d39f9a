#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "partition/schedule.h"

namespace mlcp::partition {
namespace {

bool has(const std::vector<Violation>& v, CheckKind k) {
  return std::any_of(v.begin(), v.end(), [&](const Violation& x) { return x.check == k; });
}

// Every valid (schedule, pp, m, v) of the sweep.
std::vector<PipelineSchedule> sweep() {
  std::vector<PipelineSchedule> out;
  for (int pp = 1; pp <= 4; ++pp) {
    for (int m = 1; m <= 16; ++m) {
      out.push_back(gpipe(pp, m));
      out.push_back(oneFOneB(pp, m));
      for (int v = 2; v <= 3; ++v) {
        if (pp >= 2 && m % pp == 0) out.push_back(interleaved(pp, m, v));
      }
    }
  }
  return out;
}

TEST(Schedule, AllChecksPassOnEveryValidSchedule) {
  int n = 0;
  for (const auto& s : sweep()) {
    auto v = checkSchedule(s);
    EXPECT_TRUE(v.empty()) << s.name << " pp " << s.stages << " m " << s.micro_batches << " v "
                           << s.virtual_stages << ":\n"
                           << toString(v) << toString(s, true);
    ++n;
  }
  EXPECT_EQ(n, 4 * 16 * 2 + 2 * (8 + 5 + 4));  // interleaved: pp 2 (8 m), 3 (5 m), 4 (4 m), v 2..3
}

TEST(Schedule, PeakInFlight) {
  for (int pp = 1; pp <= 4; ++pp) {
    for (int m = 1; m <= 16; ++m) {
      auto f = peakInFlight(oneFOneB(pp, m));
      auto g = peakInFlight(gpipe(pp, m));
      for (int s = 0; s < pp; ++s) {
        EXPECT_LE(f[static_cast<size_t>(s)], pp);
        EXPECT_EQ(f[static_cast<size_t>(s)], std::min(pp - s, m))
            << "1f1b pp " << pp << " m " << m << " stage " << s;
        EXPECT_EQ(g[static_cast<size_t>(s)], m)
            << "gpipe pp " << pp << " m " << m << " stage " << s;
      }
      if (m >= pp) {
        EXPECT_EQ(f[0], pp);
      }
    }
  }
}

TEST(Schedule, OneFOneBText) {
  PipelineSchedule s = oneFOneB(4, 8);
  std::string t = toString(s);
  EXPECT_NE(t.find("stage 0: F0 F1 F2 F3 B0 F4 B1 F5 B2 F6 B3 F7 B4 B5 B6 B7\n"), std::string::npos)
      << t;
  EXPECT_NE(t.find("stage 3: F0 B0 F1 B1 F2 B2"), std::string::npos) << t;
  std::string c = toString(oneFOneB(2, 1), true);
  EXPECT_NE(c.find("stage 0: F0 sa0 rg0 B0\n"), std::string::npos) << c;
  EXPECT_NE(c.find("stage 1: ra0 F0 B0 sg0\n"), std::string::npos) << c;
}

TEST(Schedule, InterleavedShape) {
  PipelineSchedule s = interleaved(2, 4, 2);
  // Stage 0 warm-up: (pp - 0 - 1) * 2 + (v - 1) * pp = 4 forwards.
  std::string t = toString(s);
  EXPECT_NE(t.find("stage 0: F0.0 F1.0 F0.1 F1.1 F2.0 B0.1"), std::string::npos) << t;
  // The last virtual stage (stage 1, chunk 1) sends its activations nowhere; stage 1 chunk 0
  // sends to stage 0 chunk 1.
  for (const Action& a : s.actions[1]) {
    if (a.kind == ActionKind::kSendActivation) {
      EXPECT_EQ(a.chunk, 0);
    }
  }
}

TEST(Schedule, JsonRoundTrip) {
  for (const auto& s : {gpipe(3, 5), oneFOneB(4, 7), interleaved(4, 8, 2)}) {
    nlohmann::json j = toJson(s);
    PipelineSchedule back = scheduleFromJson(nlohmann::json::parse(j.dump()));
    EXPECT_EQ(back.name, s.name);
    EXPECT_EQ(back.actions, s.actions);
  }
  EXPECT_THROW(scheduleFromJson(nlohmann::json::parse("{\"name\": 1}")), UsageError);
}

TEST(Schedule, SelectorAndErrors) {
  EXPECT_EQ(scheduleFor("1f1b", 4, 8).actions, oneFOneB(4, 8).actions);
  EXPECT_EQ(scheduleFor("gpipe", 2, 3).actions, gpipe(2, 3).actions);
  EXPECT_EQ(scheduleFor("interleaved", 2, 4, 2).actions, interleaved(2, 4, 2).actions);
  try {
    scheduleFor("interleaved", 4, 6, 2);
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("divisible by pp (got 6 micro-batches, pp 4)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(scheduleFor("zigzag", 2, 2), UsageError);
  EXPECT_THROW(scheduleFor("1f1b", 2, 2, 2), UsageError);
  EXPECT_THROW(scheduleFor("interleaved", 1, 2, 2), UsageError);
  EXPECT_THROW(scheduleFor("gpipe", 2, 0), UsageError);
}

// ---- each check can fail ---------------------------------------------------------------------

size_t find(const std::vector<Action>& row, ActionKind k, int mb, int chunk = 0) {
  for (size_t i = 0; i < row.size(); ++i) {
    if (row[i].kind == k && row[i].micro_batch == mb && row[i].chunk == chunk) return i;
  }
  ADD_FAILURE() << "action not found";
  return 0;
}

TEST(ScheduleChecks, WrongPeerIsAFieldsViolation) {
  PipelineSchedule s = oneFOneB(3, 4);
  s.actions[1][find(s.actions[1], ActionKind::kSendActivation, 2)].peer_stage = 0;
  auto v = checkSchedule(s);
  EXPECT_TRUE(has(v, CheckKind::kFields)) << toString(v);
  s = oneFOneB(3, 4);
  s.actions[0][0].micro_batch = 9;
  EXPECT_TRUE(has(checkSchedule(s), CheckKind::kFields));
}

TEST(ScheduleChecks, MissingBackwardIsIncomplete) {
  PipelineSchedule s = gpipe(2, 3);
  auto& row = s.actions[1];
  row.erase(row.begin() + static_cast<long>(find(row, ActionKind::kBackward, 2)));
  auto v = checkSchedule(s);
  EXPECT_TRUE(has(v, CheckKind::kComplete)) << toString(v);
}

TEST(ScheduleChecks, BackwardBeforeForwardIsCaught) {
  PipelineSchedule s = oneFOneB(2, 2);
  auto& row = s.actions[1];  // last stage: ra0 F0 B0 sg0 ...
  std::swap(row[find(row, ActionKind::kForward, 0)], row[find(row, ActionKind::kBackward, 0)]);
  auto v = checkSchedule(s);
  EXPECT_TRUE(has(v, CheckKind::kForwardBeforeBackward)) << toString(v);
}

TEST(ScheduleChecks, SendsOutOfOrderAreAMatchingViolation) {
  PipelineSchedule s = gpipe(2, 3);
  auto& row = s.actions[0];
  std::swap(row[find(row, ActionKind::kSendActivation, 0)],
            row[find(row, ActionKind::kSendActivation, 1)]);
  auto v = checkSchedule(s);
  EXPECT_TRUE(has(v, CheckKind::kMatching)) << toString(v);
  // A duplicated send has no matching receive.
  s = gpipe(2, 3);
  s.actions[0].push_back(s.actions[0][find(s.actions[0], ActionKind::kSendActivation, 1)]);
  v = checkSchedule(s);
  EXPECT_TRUE(has(v, CheckKind::kMatching)) << toString(v);
}

TEST(ScheduleChecks, ReceivingTheGradientFirstDeadlocks) {
  PipelineSchedule s = oneFOneB(2, 2);
  auto& row = s.actions[0];
  Action rg = row[find(row, ActionKind::kRecvGrad, 0)];
  row.erase(row.begin() + static_cast<long>(find(row, ActionKind::kRecvGrad, 0)));
  row.insert(row.begin(), rg);  // stage 0 waits for a gradient before sending any activation
  auto v = checkSchedule(s);
  EXPECT_TRUE(has(v, CheckKind::kDeadlock)) << toString(v);
  EXPECT_FALSE(has(v, CheckKind::kMatching)) << toString(v);
}

TEST(ScheduleChecks, ForwardBeforeItsReceiveBreaksTheDataDependency) {
  PipelineSchedule s = oneFOneB(3, 3);
  auto& row = s.actions[2];
  std::swap(row[find(row, ActionKind::kRecvActivation, 0)],
            row[find(row, ActionKind::kForward, 0)]);
  auto v = checkSchedule(s);
  EXPECT_TRUE(has(v, CheckKind::kDataDependency)) << toString(v);
  // Backward on stage 0 before its gradient arrives.
  s = oneFOneB(3, 3);
  auto& r0 = s.actions[0];
  std::swap(r0[find(r0, ActionKind::kRecvGrad, 1)], r0[find(r0, ActionKind::kBackward, 1)]);
  v = checkSchedule(s);
  EXPECT_TRUE(has(v, CheckKind::kDataDependency)) << toString(v);
}

}  // namespace
}  // namespace mlcp::partition
