// Per-rank metrics, one JSON object per line: RUN_DIR/metrics/rank-<NNNNN>.jsonl. Each record
// has "kind" ("step", "eval", "summary"), "rank" and "time" (seconds since the run started);
// `mlcp plot` reads rank 0's file.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <string>

namespace mlcp::runtime {

class MetricsWriter {
 public:
  MetricsWriter(const std::string& run_dir, int rank);
  void write(const std::string& kind, nlohmann::json record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int rank_;
  std::ofstream out_;
  std::chrono::steady_clock::time_point start_;
};

std::string metricsPath(const std::string& run_dir, int rank);

}  // namespace mlcp::runtime
