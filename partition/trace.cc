#include "partition/trace.h"

#include <fmt/format.h>

#include <fstream>

#include "base/error.h"

namespace mlcp::partition {

TraceRecorder::TraceRecorder(int pid) : pid_(pid), t0_(std::chrono::steady_clock::now()) {}

double TraceRecorder::nowUs() const {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0_).count();
}

void TraceRecorder::record(std::string name, std::string category, int tid, double start_us,
                           double dur_us, nlohmann::json args, int pid) {
  events_.push_back({std::move(name), std::move(category), pid < 0 ? pid_ : pid, tid, start_us,
                     dur_us, std::move(args)});
  open_.push_back(false);
}

int TraceRecorder::begin(std::string name, std::string category, int tid, nlohmann::json args) {
  record(std::move(name), std::move(category), tid, nowUs(), 0.0, std::move(args));
  open_.back() = true;
  return static_cast<int>(events_.size()) - 1;
}

void TraceRecorder::end(int token) {
  require(token >= 0 && static_cast<size_t>(token) < events_.size() &&
              open_[static_cast<size_t>(token)],
          fmt::format("TraceRecorder::end: token {} is not an open span", token));
  auto& e = events_[static_cast<size_t>(token)];
  e.dur_us = nowUs() - e.start_us;
  open_[static_cast<size_t>(token)] = false;
}

void TraceRecorder::nameProcess(int pid, std::string name) {
  process_names_.emplace_back(pid, std::move(name));
}

void TraceRecorder::nameThread(int pid, int tid, std::string name) {
  thread_names_.emplace_back(pid, tid, std::move(name));
}

void TraceRecorder::append(const TraceRecorder& other) {
  events_.insert(events_.end(), other.events_.begin(), other.events_.end());
  open_.insert(open_.end(), other.open_.begin(), other.open_.end());
  process_names_.insert(process_names_.end(), other.process_names_.begin(),
                        other.process_names_.end());
  thread_names_.insert(thread_names_.end(), other.thread_names_.begin(), other.thread_names_.end());
}

nlohmann::json TraceRecorder::toJson() const {
  nlohmann::json ev = nlohmann::json::array();
  for (const auto& [pid, name] : process_names_) {
    ev.push_back({{"ph", "M"},
                  {"name", "process_name"},
                  {"pid", pid},
                  {"tid", 0},
                  {"args", {{"name", name}}}});
  }
  for (const auto& [pid, tid, name] : thread_names_) {
    ev.push_back({{"ph", "M"},
                  {"name", "thread_name"},
                  {"pid", pid},
                  {"tid", tid},
                  {"args", {{"name", name}}}});
  }
  for (const auto& e : events_) {
    ev.push_back({{"name", e.name},
                  {"cat", e.category},
                  {"ph", "X"},
                  {"ts", e.start_us},
                  {"dur", e.dur_us},
                  {"pid", e.pid},
                  {"tid", e.tid},
                  {"args", e.args}});
  }
  return {{"traceEvents", std::move(ev)}, {"displayTimeUnit", "ms"}};
}

void TraceRecorder::write(const std::string& path) const {
  std::ofstream f(path);
  if (!f) throw IoError(fmt::format("cannot open trace file '{}' for writing", path));
  f << toJson().dump(1) << "\n";
  if (!f) throw IoError(fmt::format("writing trace file '{}' failed", path));
}

TraceRecorder traceOf(const Timeline& t) {
  TraceRecorder r(0);
  for (int st = 0; st < t.stages; ++st) {
    r.nameProcess(st, fmt::format("stage {}", st));
    r.nameThread(st, 0, "compute");
    r.nameThread(st, 1, "communication");
  }
  for (const auto& e : t.events) {
    const Action& a = e.action;
    nlohmann::json args = {{"micro_batch", a.micro_batch}, {"chunk", a.chunk}};
    if (a.peer_stage >= 0) args["peer_stage"] = a.peer_stage;
    r.record(toString(a, t.virtual_stages > 1), toString(a.kind), a.isCompute() ? 0 : 1,
             e.start * 1e6, (e.end - e.start) * 1e6, std::move(args), e.stage);
  }
  return r;
}

}  // namespace mlcp::partition
