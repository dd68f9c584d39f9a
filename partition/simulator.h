// A timeline simulator for pipeline schedules: runs the communication protocol of schedule.h
// with given compute durations and a point-to-point latency, every action as soon as its stage
// is free and (for a receive) its message has arrived.
//
// Timing model:
//   - Forward / Backward of (stage, chunk) take forward[stage][chunk] / backward[stage][chunk].
//   - A send takes no stage time (isend); its message arrives p2p_latency later.
//   - A receive ends at max(stage clock, arrival).
// Equal stages, zero latency: GPipe and 1F1B take (m + p - 1)(f + b), bubble (p-1)/(m+p-1);
// interleaved with v chunks (each f/v, b/v) has bubble (p-1)/(v m + p - 1).
#pragma once

#include <string>
#include <vector>

#include "partition/schedule.h"

namespace mlcp::partition {

struct StageCosts {
  std::vector<std::vector<double>> forward;   // [stage][chunk] seconds per micro-batch
  std::vector<std::vector<double>> backward;  // [stage][chunk]
  double p2p_latency = 0.0;                   // seconds from send to arrival
};

// Every stage and chunk the same: forward f / v and backward b / v per chunk, where f and b are
// the whole stage's times.
StageCosts uniformCosts(int stages, int virtual_stages, double f, double b, double latency = 0);

struct TimelineEvent {
  int stage = 0;
  int index = 0;  // position in the stage's action list
  Action action;
  double start = 0;
  double end = 0;
};

struct Timeline {
  std::string schedule;
  int stages = 0;
  int micro_batches = 0;
  int virtual_stages = 1;
  std::vector<TimelineEvent> events;  // every executed action, stage by stage in order
  double step_time = 0;               // the last event's end
  std::vector<double> busy;           // [stage] compute seconds
  double bubble_fraction = 0;         // 1 - sum(busy) / (stages * step_time)
  bool completed = true;              // false when the protocol deadlocked
  std::string stall;                  // what each blocked stage waited for, when !completed
};

// Simulates; throws InvalidArgument when the cost table does not fit the schedule or the
// schedule deadlocks (message names the blocked actions).
Timeline simulate(const PipelineSchedule& s, const StageCosts& costs);
// As simulate, but returns a timeline with completed = false on deadlock instead of throwing.
Timeline simulateUnchecked(const PipelineSchedule& s, const StageCosts& costs);

// The closed-form bubble fraction for equal stages and zero latency (see above).
double bubbleModel(const std::string& schedule, int pp, int micro_batches, int virtual_stages = 1);

// "step 12.000 s, bubble 27.3 %, busy per stage: ..."
std::string summary(const Timeline& t);

}  // namespace mlcp::partition
