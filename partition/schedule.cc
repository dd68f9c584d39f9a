#include "partition/schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "base/error.h"
#include "partition/simulator.h"

namespace mlcp::partition {

const char* toString(ActionKind kind) {
  switch (kind) {
    case ActionKind::kRecvActivation:
      return "recv_activation";
    case ActionKind::kForward:
      return "forward";
    case ActionKind::kSendActivation:
      return "send_activation";
    case ActionKind::kRecvGrad:
      return "recv_grad";
    case ActionKind::kBackward:
      return "backward";
    case ActionKind::kSendGrad:
      return "send_grad";
  }
  return "?";
}

static const char* shortName(ActionKind kind) {
  switch (kind) {
    case ActionKind::kRecvActivation:
      return "ra";
    case ActionKind::kForward:
      return "F";
    case ActionKind::kSendActivation:
      return "sa";
    case ActionKind::kRecvGrad:
      return "rg";
    case ActionKind::kBackward:
      return "B";
    case ActionKind::kSendGrad:
      return "sg";
  }
  return "?";
}

std::string toString(const Action& a, bool with_chunk) {
  std::string s = fmt::format("{}{}", shortName(a.kind), a.micro_batch);
  if (with_chunk) s += fmt::format(".{}", a.chunk);
  return s;
}

const char* toString(CheckKind kind) {
  switch (kind) {
    case CheckKind::kFields:
      return "fields";
    case CheckKind::kComplete:
      return "complete";
    case CheckKind::kForwardBeforeBackward:
      return "forward-before-backward";
    case CheckKind::kMatching:
      return "matching";
    case CheckKind::kDeadlock:
      return "deadlock";
    case CheckKind::kDataDependency:
      return "data-dependency";
  }
  return "?";
}

// ---- generators ------------------------------------------------------------------------------

static Action compute(ActionKind k, int mb, int chunk) { return Action{k, mb, chunk, -1}; }

PipelineSchedule withCommunication(std::string name, int stages, int micro_batches,
                                   int virtual_stages,
                                   const std::vector<std::vector<Action>>& compute_order) {
  PipelineSchedule s;
  s.name = std::move(name);
  s.stages = stages;
  s.micro_batches = micro_batches;
  s.virtual_stages = virtual_stages;
  s.actions.resize(static_cast<size_t>(stages));
  const int last_vs = stages * virtual_stages - 1;
  for (int st = 0; st < stages; ++st) {
    auto& out = s.actions[static_cast<size_t>(st)];
    for (const Action& a : compute_order[static_cast<size_t>(st)]) {
      int vs = s.virtualStage(st, a.chunk);
      int prev_stage = (vs - 1 + stages) % stages;
      int next_stage = (vs + 1) % stages;
      if (a.kind == ActionKind::kForward) {
        if (vs > 0)
          out.push_back({ActionKind::kRecvActivation, a.micro_batch, a.chunk, prev_stage});
        out.push_back(a);
        if (vs < last_vs)
          out.push_back({ActionKind::kSendActivation, a.micro_batch, a.chunk, next_stage});
      } else {
        if (vs < last_vs)
          out.push_back({ActionKind::kRecvGrad, a.micro_batch, a.chunk, next_stage});
        out.push_back(a);
        if (vs > 0) out.push_back({ActionKind::kSendGrad, a.micro_batch, a.chunk, prev_stage});
      }
    }
  }
  return s;
}

static void requireBasic(const char* what, int pp, int m) {
  if (pp < 1 || m < 1) {
    throw UsageError(
        fmt::format("{} schedule needs pp >= 1 and micro-batches >= 1 (got pp {}, "
                    "micro-batches {})",
                    what, pp, m));
  }
}

PipelineSchedule gpipe(int pp, int m) {
  requireBasic("gpipe", pp, m);
  std::vector<std::vector<Action>> order(static_cast<size_t>(pp));
  for (auto& o : order) {
    for (int i = 0; i < m; ++i) o.push_back(compute(ActionKind::kForward, i, 0));
    for (int i = 0; i < m; ++i) o.push_back(compute(ActionKind::kBackward, i, 0));
  }
  return withCommunication("gpipe", pp, m, 1, order);
}

PipelineSchedule oneFOneB(int pp, int m) {
  requireBasic("1f1b", pp, m);
  std::vector<std::vector<Action>> order(static_cast<size_t>(pp));
  for (int s = 0; s < pp; ++s) {
    auto& o = order[static_cast<size_t>(s)];
    int warmup = std::min(pp - s - 1, m);
    for (int i = 0; i < warmup; ++i) o.push_back(compute(ActionKind::kForward, i, 0));
    for (int i = 0; i < m - warmup; ++i) {
      o.push_back(compute(ActionKind::kForward, warmup + i, 0));
      o.push_back(compute(ActionKind::kBackward, i, 0));
    }
    for (int i = m - warmup; i < m; ++i) o.push_back(compute(ActionKind::kBackward, i, 0));
  }
  return withCommunication("1f1b", pp, m, 1, order);
}

PipelineSchedule interleaved(int pp, int m, int v) {
  requireBasic("interleaved", pp, m);
  if (pp < 2 || v < 2) {
    throw UsageError(
        fmt::format("interleaved schedule needs pp >= 2 and virtual stages >= 2 "
                    "(got pp {}, virtual stages {})",
                    pp, v));
  }
  if (m % pp != 0) {
    throw UsageError(
        fmt::format("interleaved schedule needs micro-batches divisible by pp "
                    "(got {} micro-batches, pp {})",
                    m, pp));
  }
  // Megatron-LM's forward_backward_pipelining_with_interleaving: the k-th forward (of m * v)
  // runs chunk (k mod pp*v) / pp on micro-batch (k / (pp*v)) * pp + k mod pp; backwards visit
  // the chunks in reverse.
  const int total = m * v;
  auto mbOf = [&](int k) { return (k / (pp * v)) * pp + k % pp; };
  auto fwdChunk = [&](int k) { return (k % (pp * v)) / pp; };
  auto bwdChunk = [&](int k) { return v - 1 - (k % (pp * v)) / pp; };
  std::vector<std::vector<Action>> order(static_cast<size_t>(pp));
  for (int s = 0; s < pp; ++s) {
    auto& o = order[static_cast<size_t>(s)];
    int warmup = m == pp ? total : std::min((pp - s - 1) * 2 + (v - 1) * pp, total);
    int steady = total - warmup;
    for (int k = 0; k < warmup; ++k)
      o.push_back(compute(ActionKind::kForward, mbOf(k), fwdChunk(k)));
    for (int i = 0; i < steady; ++i) {
      int k = warmup + i;
      o.push_back(compute(ActionKind::kForward, mbOf(k), fwdChunk(k)));
      o.push_back(compute(ActionKind::kBackward, mbOf(i), bwdChunk(i)));
    }
    for (int k = steady; k < total; ++k)
      o.push_back(compute(ActionKind::kBackward, mbOf(k), bwdChunk(k)));
  }
  return withCommunication("interleaved", pp, m, v, order);
}

std::vector<std::string> scheduleNames() { return {"gpipe", "1f1b", "interleaved"}; }

PipelineSchedule scheduleFor(const std::string& name, int pp, int m, int v) {
  if (name == "interleaved") return interleaved(pp, m, v);
  if (name == "gpipe" || name == "1f1b") {
    if (v != 1) {
      throw UsageError(
          fmt::format("schedule '{}' has one chunk per stage; virtual stages must be "
                      "1 (got {}); use 'interleaved' for virtual stages",
                      name, v));
    }
    return name == "gpipe" ? gpipe(pp, m) : oneFOneB(pp, m);
  }
  throw UsageError(
      fmt::format("unknown pipeline schedule '{}' (expected gpipe, 1f1b or "
                  "interleaved)",
                  name));
}

// ---- printing and JSON -------------------------------------------------------------------------

std::string toString(const PipelineSchedule& s, bool with_comms) {
  std::string out = fmt::format("{} schedule: pp {}, micro-batches {}, virtual stages {}\n", s.name,
                                s.stages, s.micro_batches, s.virtual_stages);
  for (size_t st = 0; st < s.actions.size(); ++st) {
    out += fmt::format("stage {}:", st);
    for (const Action& a : s.actions[st]) {
      if (!with_comms && !a.isCompute()) continue;
      out += " " + toString(a, s.virtual_stages > 1);
    }
    out += "\n";
  }
  return out;
}

nlohmann::json toJson(const PipelineSchedule& s) {
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& row : s.actions) {
    nlohmann::json r = nlohmann::json::array();
    for (const Action& a : row) {
      r.push_back({{"kind", toString(a.kind)},
                   {"micro_batch", a.micro_batch},
                   {"chunk", a.chunk},
                   {"peer_stage", a.peer_stage}});
    }
    stages.push_back(std::move(r));
  }
  return {{"name", s.name},
          {"stages", s.stages},
          {"micro_batches", s.micro_batches},
          {"virtual_stages", s.virtual_stages},
          {"actions", std::move(stages)}};
}

PipelineSchedule scheduleFromJson(const nlohmann::json& j) {
  try {
    PipelineSchedule s;
    s.name = j.at("name").get<std::string>();
    s.stages = j.at("stages").get<int>();
    s.micro_batches = j.at("micro_batches").get<int>();
    s.virtual_stages = j.at("virtual_stages").get<int>();
    for (const auto& row : j.at("actions")) {
      std::vector<Action> r;
      for (const auto& a : row) {
        Action x;
        std::string kind = a.at("kind").get<std::string>();
        bool found = false;
        for (auto k :
             {ActionKind::kRecvActivation, ActionKind::kForward, ActionKind::kSendActivation,
              ActionKind::kRecvGrad, ActionKind::kBackward, ActionKind::kSendGrad}) {
          if (kind == toString(k)) {
            x.kind = k;
            found = true;
          }
        }
        if (!found) throw UsageError(fmt::format("schedule JSON: unknown action kind '{}'", kind));
        x.micro_batch = a.at("micro_batch").get<int>();
        x.chunk = a.at("chunk").get<int>();
        x.peer_stage = a.at("peer_stage").get<int>();
        r.push_back(x);
      }
      s.actions.push_back(std::move(r));
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(fmt::format("schedule JSON is malformed: {}", e.what()));
  }
}

std::vector<int> peakInFlight(const PipelineSchedule& s) {
  std::vector<int> peak;
  for (const auto& row : s.actions) {
    int cur = 0, best = 0;
    for (const Action& a : row) {
      if (a.kind == ActionKind::kForward) best = std::max(best, ++cur);
      if (a.kind == ActionKind::kBackward) --cur;
    }
    peak.push_back(best);
  }
  return peak;
}

// ---- checks ------------------------------------------------------------------------------------

std::string toString(const std::vector<Violation>& v) {
  std::string out;
  for (const auto& x : v) {
    out += fmt::format("[{}] stage {}: {}\n", toString(x.check), x.stage, x.message);
  }
  return out;
}

namespace {

bool isSend(ActionKind k) { return k == ActionKind::kSendActivation || k == ActionKind::kSendGrad; }
bool isRecv(ActionKind k) { return k == ActionKind::kRecvActivation || k == ActionKind::kRecvGrad; }

// The stage an action of (stage, chunk) must talk to, or -1 when it has no peer (compute, or a
// communication action that the virtual stage must not have).
int expectedPeer(const PipelineSchedule& s, int stage, const Action& a) {
  int vs = s.virtualStage(stage, a.chunk);
  int last = s.numVirtualStages() - 1;
  switch (a.kind) {
    case ActionKind::kRecvActivation:
    case ActionKind::kSendGrad:
      return vs > 0 ? (vs - 1) % s.stages : -1;
    case ActionKind::kSendActivation:
    case ActionKind::kRecvGrad:
      return vs < last ? (vs + 1) % s.stages : -1;
    default:
      return -1;
  }
}

// The identity of the message an action sends or receives: (is gradient, micro-batch, the
// receiving virtual stage).
using MsgKey = std::tuple<bool, int, int>;
MsgKey messageKey(const PipelineSchedule& s, int stage, const Action& a) {
  int vs = s.virtualStage(stage, a.chunk);
  switch (a.kind) {
    case ActionKind::kSendActivation:
      return {false, a.micro_batch, vs + 1};
    case ActionKind::kRecvActivation:
      return {false, a.micro_batch, vs};
    case ActionKind::kSendGrad:
      return {true, a.micro_batch, vs - 1};
    default:
      return {true, a.micro_batch, vs};  // kRecvGrad
  }
}

}  // namespace

namespace {

// 1. Fields: counts and every action's micro-batch, chunk and peer in range. False when the
// schedule is too malformed to check further.
bool checkFields(const PipelineSchedule& s, std::vector<Violation>& out) {
  auto add = [&](CheckKind k, int stage, std::string msg) {
    out.push_back({k, stage, std::move(msg)});
  };
  const bool chunks = s.virtual_stages > 1;
  // 1. Fields.
  if (s.stages < 1 || s.micro_batches < 1 || s.virtual_stages < 1 ||
      static_cast<int>(s.actions.size()) != s.stages) {
    add(CheckKind::kFields, -1,
        fmt::format("schedule declares {} stages, {} micro-batches, {} virtual stages and has {} "
                    "action lists",
                    s.stages, s.micro_batches, s.virtual_stages, s.actions.size()));
    return false;  // nothing else can be checked meaningfully
  }
  bool fields_ok = true;
  for (int st = 0; st < s.stages; ++st) {
    for (const Action& a : s.actions[static_cast<size_t>(st)]) {
      if (a.micro_batch < 0 || a.micro_batch >= s.micro_batches || a.chunk < 0 ||
          a.chunk >= s.virtual_stages) {
        add(CheckKind::kFields, st,
            fmt::format("{} has micro-batch {} / chunk {} out of range", toString(a, chunks),
                        a.micro_batch, a.chunk));
        fields_ok = false;
        continue;
      }
      int want = expectedPeer(s, st, a);
      if (a.isCompute() ? a.peer_stage != -1 : (want >= 0 && a.peer_stage != want)) {
        add(CheckKind::kFields, st,
            fmt::format("{} names peer stage {}, expected {}", toString(a, chunks), a.peer_stage,
                        want));
        fields_ok = false;
      }
    }
  }
  return fields_ok;
}

// 2. Completeness: every (kind, micro-batch, chunk) once on each stage.
void checkComplete(const PipelineSchedule& s, std::vector<Violation>& out) {
  auto add = [&](CheckKind k, int stage, std::string msg) {
    out.push_back({k, stage, std::move(msg)});
  };
  const bool chunks = s.virtual_stages > 1;
  // 2. Completeness: counts per (kind, micro-batch, chunk) on each stage.
  for (int st = 0; st < s.stages; ++st) {
    std::map<std::tuple<int, int, int>, int> count;
    for (const Action& a : s.actions[static_cast<size_t>(st)]) {
      ++count[{static_cast<int>(a.kind), a.micro_batch, a.chunk}];
    }
    for (int c = 0; c < s.virtual_stages; ++c) {
      for (int mb = 0; mb < s.micro_batches; ++mb) {
        for (auto k :
             {ActionKind::kRecvActivation, ActionKind::kForward, ActionKind::kSendActivation,
              ActionKind::kRecvGrad, ActionKind::kBackward, ActionKind::kSendGrad}) {
          Action probe{k, mb, c, -1};
          int want = (probe.isCompute() || expectedPeer(s, st, probe) >= 0) ? 1 : 0;
          auto it = count.find({static_cast<int>(k), mb, c});
          int have = it == count.end() ? 0 : it->second;
          if (have != want) {
            add(CheckKind::kComplete, st,
                fmt::format("{} appears {} times, expected {}", toString(probe, chunks), have,
                            want));
          }
        }
      }
    }
  }
}

// 3. Forward before backward on each stage.
void checkForwardBeforeBackward(const PipelineSchedule& s, std::vector<Violation>& out) {
  auto add = [&](CheckKind k, int stage, std::string msg) {
    out.push_back({k, stage, std::move(msg)});
  };
  const bool chunks = s.virtual_stages > 1;
  // 3. Forward before backward on each stage.
  for (int st = 0; st < s.stages; ++st) {
    std::map<std::pair<int, int>, size_t> fwd_at;
    const auto& row = s.actions[static_cast<size_t>(st)];
    for (size_t i = 0; i < row.size(); ++i) {
      const Action& a = row[i];
      if (a.kind == ActionKind::kForward) fwd_at.emplace(std::make_pair(a.micro_batch, a.chunk), i);
      if (a.kind == ActionKind::kBackward && !fwd_at.count({a.micro_batch, a.chunk})) {
        add(CheckKind::kForwardBeforeBackward, st,
            fmt::format("{} (position {}) comes before its forward", toString(a, chunks), i));
      }
    }
  }
}

// 4. Matching: per channel the sequence of sent messages equals the received one.
void checkMatching(const PipelineSchedule& s, std::vector<Violation>& out) {
  auto add = [&](CheckKind k, int stage, std::string msg) {
    out.push_back({k, stage, std::move(msg)});
  };
  // 4. Matching: per channel (sender, receiver, gradient?) the sequence of sent messages equals
  // the sequence of received ones.
  std::map<std::tuple<int, int, bool>, std::vector<MsgKey>> sent, received;
  for (int st = 0; st < s.stages; ++st) {
    for (const Action& a : s.actions[static_cast<size_t>(st)]) {
      bool grad = a.kind == ActionKind::kSendGrad || a.kind == ActionKind::kRecvGrad;
      if (isSend(a.kind)) sent[{st, a.peer_stage, grad}].push_back(messageKey(s, st, a));
      if (isRecv(a.kind)) received[{a.peer_stage, st, grad}].push_back(messageKey(s, st, a));
    }
  }
  auto keyStr = [](const MsgKey& k) {
    return fmt::format("{} of micro-batch {} for virtual stage {}",
                       std::get<0>(k) ? "gradient" : "activation", std::get<1>(k), std::get<2>(k));
  };
  std::map<std::tuple<int, int, bool>, bool> channels;
  for (auto& [ch, v] : sent) channels[ch] = true;
  for (auto& [ch, v] : received) channels[ch] = true;
  for (auto& [ch, unused] : channels) {
    const auto& snd = sent[ch];
    const auto& rcv = received[ch];
    auto [from, to, grad] = ch;
    std::map<MsgKey, int> balance;
    for (const auto& k : snd) ++balance[k];
    for (const auto& k : rcv) --balance[k];
    bool counts_ok = true;
    for (auto& [k, b] : balance) {
      if (b != 0) {
        counts_ok = false;
        add(CheckKind::kMatching, from,
            fmt::format("{} is sent {} time(s) from stage {} to stage {} but received {} time(s)",
                        keyStr(k), std::count(snd.begin(), snd.end(), k), from, to,
                        std::count(rcv.begin(), rcv.end(), k)));
      }
    }
    if (counts_ok) {
      for (size_t i = 0; i < snd.size(); ++i) {
        if (snd[i] != rcv[i]) {
          add(CheckKind::kMatching, to,
              fmt::format("{} channel {}->{}: message {} sent is the {}, but the receive in that "
                          "position expects the {}",
                          grad ? "gradient" : "activation", from, to, i, keyStr(snd[i]),
                          keyStr(rcv[i])));
          break;
        }
      }
    }
  }
}

// 5 + 6. No deadlock, and every data dependency met, in a unit-cost simulation.
void checkBySimulation(const PipelineSchedule& s, std::vector<Violation>& out) {
  auto add = [&](CheckKind k, int stage, std::string msg) {
    out.push_back({k, stage, std::move(msg)});
  };
  // 5 + 6. Simulate the protocol with unit costs (forward 1, backward 2, no latency).
  Timeline t = simulateUnchecked(s, uniformCosts(s.stages, s.virtual_stages, 1.0, 2.0));
  if (!t.completed) {
    add(CheckKind::kDeadlock, -1, "the send/recv protocol deadlocks: " + t.stall);
    return;
  }
  // (is backward, mb, virtual stage) -> (start, end)
  std::map<std::tuple<bool, int, int>, std::pair<double, double>> when;
  std::map<std::tuple<bool, int, int>, int> where;
  for (const auto& e : t.events) {
    if (!e.action.isCompute()) continue;
    auto key = std::make_tuple(e.action.kind == ActionKind::kBackward, e.action.micro_batch,
                               s.virtualStage(e.stage, e.action.chunk));
    when[key] = {e.start, e.end};
    where[key] = e.stage;
  }
  const int last = s.numVirtualStages() - 1;
  for (int mb = 0; mb < s.micro_batches; ++mb) {
    for (int vs = 0; vs <= last; ++vs) {
      auto need = [&](std::tuple<bool, int, int> later, std::tuple<bool, int, int> earlier,
                      const char* what) {
        auto a = when.find(later), b = when.find(earlier);
        if (a == when.end() || b == when.end()) return;  // reported by kComplete
        if (a->second.first < b->second.second) {
          add(CheckKind::kDataDependency, where[later],
              fmt::format("{} of micro-batch {} on virtual stage {} starts at {} before {} "
                          "ends at {}",
                          std::get<0>(later) ? "backward" : "forward", mb, std::get<2>(later),
                          a->second.first, what, b->second.second));
        }
      };
      if (vs > 0) need({false, mb, vs}, {false, mb, vs - 1}, "the previous stage's forward");
      if (vs < last) need({true, mb, vs}, {true, mb, vs + 1}, "the next stage's backward");
      if (vs == last) need({true, mb, vs}, {false, mb, vs}, "its own forward");
    }
  }
}

}  // namespace

std::vector<Violation> checkSchedule(const PipelineSchedule& s) {
  std::vector<Violation> out;
  if (!checkFields(s, out)) return out;
  checkComplete(s, out);
  checkForwardBeforeBackward(s, out);
  checkMatching(s, out);
  checkBySimulation(s, out);
  return out;
}

}  // namespace mlcp::partition
