// Pipeline schedules as plain data: for every pipeline stage, the ordered list of actions it
// performs in one training step. Nothing here runs a model; the executor (LibTorch, later)
// walks these lists, and the simulator (simulator.h) times them.
//
// Stages and chunks. A schedule has `stages` physical pipeline stages (pp) and `virtual_stages`
// model chunks per stage (v; 1 except for the interleaved schedule). The model is cut into
// pp * v consecutive pieces; piece (virtual stage) vs = chunk * pp + stage lives on physical
// stage vs % pp as its chunk vs / pp. Activations flow vs -> vs + 1, gradients vs + 1 -> vs.
//
// Communication protocol the executor must follow (and that checkSchedule proves free of
// deadlock by simulating it):
//   1. A send (SendActivation, SendGrad) is posted and does not block the stage (isend); the
//      executor completes outstanding sends lazily, at the latest at the end of the step.
//   2. A receive blocks the stage until the matching message has been sent.
//   3. Messages on one channel (sender stage, receiver stage, activation or gradient) are
//      matched in order: the k-th send on a channel is the k-th receive on it, so one tag per
//      channel suffices (MPI's non-overtaking rule).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace mlcp::partition {

enum class ActionKind {
  kRecvActivation,
  kForward,
  kSendActivation,
  kRecvGrad,
  kBackward,
  kSendGrad
};
const char* toString(ActionKind kind);

struct Action {
  ActionKind kind = ActionKind::kForward;
  int micro_batch = 0;
  int chunk = 0;        // the local model chunk this action belongs to (0 unless interleaved)
  int peer_stage = -1;  // the stage sent to / received from; -1 for Forward and Backward

  bool isCompute() const { return kind == ActionKind::kForward || kind == ActionKind::kBackward; }
  bool operator==(const Action& o) const {
    return kind == o.kind && micro_batch == o.micro_batch && chunk == o.chunk &&
           peer_stage == o.peer_stage;
  }
};

// "F3", "B3", "ra3", "sa3", "rg3", "sg3"; with chunks (v > 1) a ".c" suffix: "F3.1".
std::string toString(const Action& a, bool with_chunk = false);

struct PipelineSchedule {
  std::string name;  // "gpipe", "1f1b", "interleaved"
  int stages = 1;
  int micro_batches = 1;
  int virtual_stages = 1;
  std::vector<std::vector<Action>> actions;  // [stage] -> ordered actions

  int virtualStage(int stage, int chunk) const { return chunk * stages + stage; }
  int numVirtualStages() const { return stages * virtual_stages; }
};

// The compute order of a stage: Forward/Backward actions only. withCommunication inserts the
// receives and sends around every compute action (RecvActivation before a Forward unless it is
// the first virtual stage, SendActivation after it unless it is the last; RecvGrad before a
// Backward unless last, SendGrad after it unless first).
PipelineSchedule withCommunication(std::string name, int stages, int micro_batches,
                                   int virtual_stages,
                                   const std::vector<std::vector<Action>>& compute_order);

// GPipe: all forwards, then all backwards (in micro-batch order). Peak in-flight = m.
PipelineSchedule gpipe(int pp, int micro_batches);
// 1F1B (PipeDream-flush): stage s runs min(pp - s - 1, m) warm-up forwards, then alternates
// one forward and one backward, then drains the remaining backwards. Peak in-flight on stage s
// = min(pp - s, m) <= pp.
PipelineSchedule oneFOneB(int pp, int micro_batches);
// Megatron-style interleaved 1F1B with v model chunks per stage. Requires pp >= 2, v >= 2 and
// micro_batches % pp == 0 (micro-batches advance through the chunks in groups of pp).
PipelineSchedule interleaved(int pp, int micro_batches, int virtual_stages);
// Chooses by name: "gpipe", "1f1b" (v must be 1) or "interleaved". Throws UsageError for an
// unknown name or an impossible combination, naming the numbers.
PipelineSchedule scheduleFor(const std::string& name, int pp, int micro_batches,
                             int virtual_stages = 1);
// The schedule names scheduleFor accepts.
std::vector<std::string> scheduleNames();

// One line per stage: "stage 0: F0 F1 B0 F2 B1 ..." (compute only unless with_comms).
std::string toString(const PipelineSchedule& s, bool with_comms = false);
nlohmann::json toJson(const PipelineSchedule& s);
PipelineSchedule scheduleFromJson(const nlohmann::json& j);  // throws UsageError

// In-flight activations per stage: the peak over the stage's order of (forwards done minus
// backwards done), counted in chunk-forwards.
std::vector<int> peakInFlight(const PipelineSchedule& s);

// ---- checks ----------------------------------------------------------------------------------
enum class CheckKind {
  kFields,                 // stage count, micro-batch / chunk range, peer stage of each action
  kComplete,               // exactly one F and B per (micro-batch, chunk), and exactly the sends
                           // and receives the virtual stage needs
  kForwardBeforeBackward,  // on each stage F(mb, c) comes before B(mb, c)
  kMatching,               // every send has exactly one matching receive, in the same order on
                           // its channel
  kDeadlock,               // the protocol above stalls (every unfinished stage waits on a recv)
  kDataDependency,         // F(mb, vs) after F(mb, vs-1); B(mb, vs) after B(mb, vs+1) and, on
                           // the last virtual stage, after F(mb, vs) — in simulated time
};
const char* toString(CheckKind kind);

struct Violation {
  CheckKind check;
  int stage = -1;
  std::string message;
};

// All violations found (empty = the schedule is valid). Never throws on a bad schedule.
std::vector<Violation> checkSchedule(const PipelineSchedule& s);
std::string toString(const std::vector<Violation>& v);

}  // namespace mlcp::partition
