// Per-rank metrics, one JSON object per line: RUN_DIR/metrics/rank-<NNNNN>.jsonl. Each record
// has "kind" ("step", "eval", "summary"), "rank" and "time" (seconds since the run started);
// `mlcp plot` reads rank 0's file.
#pragma once

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mlcp::runtime {

class MetricsWriter {
 public:
  // `append`: keep the records already there (a resumed run continues its history; readers
  // take the last record of a step, so the steps a crashed run recorded after its last
  // checkpoint are superseded by the resumed run's).
  MetricsWriter(const std::string& run_dir, int rank, bool append = false);
  void write(const std::string& kind, nlohmann::json record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int rank_;
  std::chrono::steady_clock::time_point start_;
};

std::string metricsPath(const std::string& run_dir, int rank);

// Rank `rank`'s records of `kind` in RUN_DIR, in file order (an absent file gives none; a line
// that is not JSON — a torn last line after a crash — is skipped).
std::vector<nlohmann::json> readMetrics(const std::string& run_dir, const std::string& kind,
                                        int rank = 0);

// Rank 0's "step" records by step: the last record of each step wins (see `append`).
std::map<int64_t, nlohmann::json> stepRecords(const std::string& run_dir);

}  // namespace mlcp::runtime
