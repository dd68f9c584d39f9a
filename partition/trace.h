// Chrome-trace / Perfetto JSON timelines ("Trace Event Format"): load the file in
// https://ui.perfetto.dev or chrome://tracing.
//
// Every event is a complete event (ph "X") with ts / dur in microseconds, pid = rank,
// tid = a lane inside the rank (the executor uses the pipeline stage or chunk), a name such as
// "F3" and a category ("forward", "backward", "send_activation", ...), and args (micro_batch,
// chunk, ...). TraceRecorder is used both by the simulator (times given) and by the real
// executor (begin/end measure with a steady clock). It is not thread-safe: one recorder per
// thread, merge with append().
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "partition/simulator.h"

namespace mlcp::partition {

struct TraceEvent {
  std::string name;
  std::string category;
  int pid = 0;
  int tid = 0;
  double start_us = 0;
  double dur_us = 0;
  nlohmann::json args = nlohmann::json::object();
};

class TraceRecorder {
 public:
  // pid stamped on events recorded with begin/end (the rank); the clock's zero is now.
  explicit TraceRecorder(int pid = 0);

  // Records an event with explicit times.
  void record(std::string name, std::string category, int tid, double start_us, double dur_us,
              nlohmann::json args = nlohmann::json::object(), int pid = -1);
  // Measures an event: begin() returns a token for end(). Nested and overlapping spans are fine.
  int begin(std::string name, std::string category, int tid,
            nlohmann::json args = nlohmann::json::object());
  void end(int token);
  // Microseconds since construction.
  double nowUs() const;

  // Names a pid / tid lane in the viewer (metadata events "process_name" / "thread_name").
  void nameProcess(int pid, std::string name);
  void nameThread(int pid, int tid, std::string name);

  void append(const TraceRecorder& other);
  const std::vector<TraceEvent>& events() const { return events_; }

  // {"traceEvents": [...], "displayTimeUnit": "ms"}
  nlohmann::json toJson() const;
  // Writes toJson(); throws IoError naming the path.
  void write(const std::string& path) const;

 private:
  int pid_;
  std::chrono::steady_clock::time_point t0_;
  std::vector<TraceEvent> events_;
  std::vector<bool> open_;
  std::vector<std::pair<int, std::string>> process_names_;
  std::vector<std::tuple<int, int, std::string>> thread_names_;
};

// The simulated timeline as a trace: pid = stage (one "process" per pipeline stage, named
// "stage s"), tid 0 = compute, tid 1 = communication; seconds become microseconds.
TraceRecorder traceOf(const Timeline& t);

}  // namespace mlcp::partition
