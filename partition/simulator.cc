#include "partition/simulator.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <map>
#include <tuple>

#include "base/error.h"

namespace mlcp::partition {

StageCosts uniformCosts(int stages, int virtual_stages, double f, double b, double latency) {
  StageCosts c;
  c.forward.assign(static_cast<size_t>(stages),
                   std::vector<double>(static_cast<size_t>(virtual_stages), f / virtual_stages));
  c.backward.assign(static_cast<size_t>(stages),
                    std::vector<double>(static_cast<size_t>(virtual_stages), b / virtual_stages));
  c.p2p_latency = latency;
  return c;
}

namespace {

// A message on its way: identity (gradient?, micro-batch, receiving virtual stage) and arrival.
struct InFlight {
  std::tuple<bool, int, int> key;
  double arrival;
};

}  // namespace

Timeline simulateUnchecked(const PipelineSchedule& s, const StageCosts& costs) {
  const size_t P = static_cast<size_t>(s.stages);
  require(s.actions.size() == P && costs.forward.size() == P && costs.backward.size() == P,
          fmt::format("simulate: schedule has {} stages ({} action lists) but the cost table has "
                      "{} forward / {} backward rows",
                      s.stages, s.actions.size(), costs.forward.size(), costs.backward.size()));
  for (size_t st = 0; st < P; ++st) {
    require(costs.forward[st].size() == static_cast<size_t>(s.virtual_stages) &&
                costs.backward[st].size() == static_cast<size_t>(s.virtual_stages),
            fmt::format("simulate: stage {} needs {} chunk costs", st, s.virtual_stages));
  }
  Timeline t;
  t.schedule = s.name;
  t.stages = s.stages;
  t.micro_batches = s.micro_batches;
  t.virtual_stages = s.virtual_stages;
  t.busy.assign(P, 0.0);
  std::vector<size_t> next(P, 0);
  std::vector<double> clock(P, 0.0);
  std::vector<std::vector<TimelineEvent>> per_stage(P);
  // channel (from, to, gradient?) -> messages sent and not yet received, in send order
  std::map<std::tuple<int, int, bool>, std::deque<InFlight>> channels;

  auto keyOf = [&](int st, const Action& a) -> std::tuple<bool, int, int> {
    int vs = s.virtualStage(st, a.chunk);
    switch (a.kind) {
      case ActionKind::kSendActivation:
        return {false, a.micro_batch, vs + 1};
      case ActionKind::kRecvActivation:
        return {false, a.micro_batch, vs};
      case ActionKind::kSendGrad:
        return {true, a.micro_batch, vs - 1};
      default:
        return {true, a.micro_batch, vs};
    }
  };

  // Run every stage as far as it can go; repeat until no stage moves. Each event's time depends
  // only on its stage's clock and (for a receive) the arrival of its message, so the order in
  // which stages are advanced does not change the result.
  bool moved = true;
  while (moved) {
    moved = false;
    for (size_t st = 0; st < P; ++st) {
      const auto& row = s.actions[st];
      while (next[st] < row.size()) {
        const Action& a = row[next[st]];
        TimelineEvent e{static_cast<int>(st), static_cast<int>(next[st]), a, clock[st], clock[st]};
        bool grad = a.kind == ActionKind::kSendGrad || a.kind == ActionKind::kRecvGrad;
        size_t c = static_cast<size_t>(std::clamp(a.chunk, 0, s.virtual_stages - 1));
        if (a.kind == ActionKind::kForward || a.kind == ActionKind::kBackward) {
          double d = a.kind == ActionKind::kForward ? costs.forward[st][c] : costs.backward[st][c];
          e.end = e.start + d;
          t.busy[st] += d;
        } else if (a.kind == ActionKind::kSendActivation || a.kind == ActionKind::kSendGrad) {
          channels[{static_cast<int>(st), a.peer_stage, grad}].push_back(
              {keyOf(static_cast<int>(st), a), clock[st] + costs.p2p_latency});
        } else {
          auto& q = channels[{a.peer_stage, static_cast<int>(st), grad}];
          auto key = keyOf(static_cast<int>(st), a);
          auto it =
              std::find_if(q.begin(), q.end(), [&](const InFlight& m) { return m.key == key; });
          if (it == q.end()) break;  // blocked until the peer sends
          e.end = std::max(clock[st], it->arrival);
          q.erase(it);
        }
        clock[st] = e.end;
        per_stage[st].push_back(e);
        ++next[st];
        moved = true;
      }
    }
  }
  for (size_t st = 0; st < P; ++st) {
    if (next[st] < s.actions[st].size()) {
      t.completed = false;
      const Action& a = s.actions[st][next[st]];
      t.stall += fmt::format("{}stage {} waits at action {} ({} from stage {})",
                             t.stall.empty() ? "" : "; ", st, next[st],
                             toString(a, s.virtual_stages > 1), a.peer_stage);
    }
    for (auto& e : per_stage[st]) t.events.push_back(e);
    t.step_time = std::max(t.step_time, clock[st]);
  }
  double busy = 0;
  for (double b : t.busy) busy += b;
  t.bubble_fraction = t.step_time > 0 ? 1.0 - busy / (static_cast<double>(P) * t.step_time) : 0.0;
  return t;
}

Timeline simulate(const PipelineSchedule& s, const StageCosts& costs) {
  Timeline t = simulateUnchecked(s, costs);
  if (!t.completed) {
    throw InvalidArgument(fmt::format("{} schedule deadlocks: {}", s.name, t.stall));
  }
  return t;
}

double bubbleModel(const std::string& schedule, int pp, int m, int v) {
  double p = pp;
  if (schedule == "interleaved") return (p - 1) / (static_cast<double>(v) * m + p - 1);
  return (p - 1) / (m + p - 1);
}

std::string summary(const Timeline& t) {
  std::string out = fmt::format("{}: step {:.6g} s, bubble {:.2f} %, busy per stage:", t.schedule,
                                t.step_time, 100.0 * t.bubble_fraction);
  for (double b : t.busy) out += fmt::format(" {:.6g}", b);
  return out;
}

}  // namespace mlcp::partition
