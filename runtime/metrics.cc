#include "runtime/metrics.h"

#include <filesystem>

#include <fmt/format.h>

#include "runtime/error.h"

namespace mlcp::runtime {

std::string metricsPath(const std::string& run_dir, int rank) {
  return fmt::format("{}/metrics/rank-{:05d}.jsonl", run_dir, rank);
}

MetricsWriter::MetricsWriter(const std::string& run_dir, int rank, bool append)
    : path_(metricsPath(run_dir, rank)), rank_(rank), start_(std::chrono::steady_clock::now()) {
  std::error_code ec;
  std::filesystem::create_directories(run_dir + "/metrics", ec);
  out_.open(path_, std::ios::out | (append ? std::ios::app : std::ios::trunc));
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

std::vector<nlohmann::json> readMetrics(const std::string& run_dir, const std::string& kind,
                                        int rank) {
  std::vector<nlohmann::json> out;
  std::ifstream in(metricsPath(run_dir, rank));
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.value("kind", "") == kind) out.push_back(std::move(j));
  }
  return out;
}

std::map<int64_t, nlohmann::json> stepRecords(const std::string& run_dir) {
  std::map<int64_t, nlohmann::json> out;
  for (auto& j : readMetrics(run_dir, "step")) {
    if (j.contains("step") && j.at("step").is_number_integer()) out[j.at("step").get<int64_t>()] = j;
  }
  return out;
}

}  // namespace mlcp::runtime
