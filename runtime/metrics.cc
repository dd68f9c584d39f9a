#include "runtime/metrics.h"

#include <fcntl.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/durable_file.h"
#include "base/error.h"

namespace mlcp::runtime {

std::string metricsPath(const std::string& run_dir, int rank) {
  return fmt::format("{}/metrics/rank-{:05d}.jsonl", run_dir, rank);
}

MetricsWriter::MetricsWriter(const std::string& run_dir, int rank, bool append)
    : path_(metricsPath(run_dir, rank)), rank_(rank), start_(std::chrono::steady_clock::now()) {
  std::error_code ec;
  std::filesystem::create_directories(run_dir + "/metrics", ec);
  if (ec) {
    throw IoError(fmt::format("cannot create {}/metrics: {}", run_dir, ec.message()));
  }
  const FileDescriptor fd(
      ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? 0 : O_TRUNC), 0644));
  if (!fd.valid()) {
    throw IoError(fmt::format("cannot write metrics file {}: {}", path_, std::strerror(errno)));
  }
}

void MetricsWriter::write(const std::string& kind, nlohmann::json record) {
  record["kind"] = kind;
  record["rank"] = rank_;
  record["time"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  // Opened for each record and closed again: a record is one append of a whole line (a crash
  // leaves complete lines), and the run holds no file open between steps.
  const FileDescriptor fd(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    throw IoError(fmt::format("cannot write metrics file {}: {}", path_, std::strerror(errno)));
  }
  writeAll(fd.get(), record.dump() + "\n", path_);
}

std::vector<nlohmann::json> readMetrics(const std::string& run_dir, const std::string& kind,
                                        int rank) {
  std::vector<nlohmann::json> out;
  std::ifstream in(metricsPath(run_dir, rank));
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.value("kind", "") == kind)
      out.push_back(std::move(j));
  }
  return out;
}

std::map<int64_t, nlohmann::json> stepRecords(const std::string& run_dir) {
  std::map<int64_t, nlohmann::json> out;
  for (auto& j : readMetrics(run_dir, "step")) {
    if (j.contains("step") && j.at("step").is_number_integer())
      out[j.at("step").get<int64_t>()] = j;
  }
  return out;
}

}  // namespace mlcp::runtime
