#include "runtime/metrics.h"

#include <filesystem>

#include <fmt/format.h>

#include "runtime/error.h"

namespace mlcp::runtime {

std::string metricsPath(const std::string& run_dir, int rank) {
  return fmt::format("{}/metrics/rank-{:05d}.jsonl", run_dir, rank);
}

MetricsWriter::MetricsWriter(const std::string& run_dir, int rank)
    : path_(metricsPath(run_dir, rank)), rank_(rank), start_(std::chrono::steady_clock::now()) {
  std::error_code ec;
  std::filesystem::create_directories(run_dir + "/metrics", ec);
  out_.open(path_, std::ios::out | std::ios::trunc);
  if (!out_) throw IoError("cannot write metrics file " + path_);
}

void MetricsWriter::write(const std::string& kind, nlohmann::json record) {
  record["kind"] = kind;
  record["rank"] = rank_;
  record["time"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  out_ << record.dump() << '\n';
  out_.flush();
}

}  // namespace mlcp::runtime
