#include "bridge/state_exchange.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/durable_file.h"
#include "base/error.h"
#include "bridge/eth_key.h"

namespace mlcp::bridge {

namespace fs = std::filesystem;

namespace {

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

StateExchange::StateExchange(std::string root) : root_(std::move(root)) {}

std::string StateExchange::taskDir(const char* kind, const U256& task) const {
  return fmt::format("{}/{}/task-{}", root_, kind, task.toDecimal());
}

void StateExchange::postRequest(const SampleProof& p) {
  const nlohmann::json j = {{"task", p.task.toDecimal()},
                            {"slot", p.slot},
                            {"verifier", checksumAddress(p.verifier)},
                            {"secret", toHex(p.secret)}};
  writeFileAtomic(fmt::format("{}/slot-{}.json", taskDir("requests", p.task), p.slot), j.dump(),
                  0644, true, "sample proof");
}

std::vector<SampleProof> StateExchange::requests(const U256& task) const {
  std::vector<SampleProof> out;
  const std::string dir = taskDir("requests", task);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("slot-", 0) != 0 || entry.path().extension() != ".json") continue;
    try {
      const auto j = nlohmann::json::parse(readText(entry.path().string()));
      SampleProof p;
      p.task = U256::parse(j.at("task").get<std::string>(), "task");
      p.slot = j.at("slot").get<uint64_t>();
      p.verifier = parseAddress(j.at("verifier").get<std::string>(), "verifier");
      p.secret = fixedFromHex<32>(j.at("secret").get<std::string>(), "secret");
      if (p.task == task) out.push_back(p);
    } catch (const std::exception&) {
      // Not a request (or being replaced): whoever wrote it proves nothing; skipped.
    }
  }
  return out;
}

std::string StateExchange::servedDir(const U256& task, uint64_t slot) const {
  return fmt::format("{}/slot-{}", taskDir("served", task), slot);
}

std::string StateExchange::publicDir(const U256& task) const { return taskDir("public", task); }

bool StateExchange::publishFolder(const std::string& from, const std::string& to) {
  std::error_code ec;
  if (fs::exists(to, ec)) return false;
  const fs::path target(to);
  fs::create_directories(target.parent_path(), ec);
  if (ec)
    throw IoError(fmt::format("cannot create {}: {}", target.parent_path().string(), ec.message()));
  const std::string tmp = fmt::format("{}.tmp-{}", to, ::getpid());
  fs::remove_all(tmp, ec);
  fs::copy(from, tmp, fs::copy_options::recursive, ec);
  if (ec) throw IoError(fmt::format("cannot copy {} to {}: {}", from, tmp, ec.message()));
  syncPath(tmp, true);
  if (::rename(tmp.c_str(), to.c_str()) != 0) {
    fs::remove_all(tmp, ec);
    if (fs::exists(to, ec)) return false;  // another copy won the race
    throw IoError(fmt::format("cannot rename {} to {}", tmp, to));
  }
  syncParentDir(to);
  return true;
}

void StateExchange::postVerdict(const SignedVerdict& v) {
  writeFileAtomic(fmt::format("{}/dispute-{}/{}.json", taskDir("verdicts", v.verdict.job_id),
                              v.verdict.dispute_id.toDecimal(), checksumAddress(v.signer)),
                  v.toJson().dump(), 0644, true, "signed verdict");
}

std::vector<SignedVerdict> StateExchange::verdicts(const U256& task, const U256& dispute) const {
  std::vector<SignedVerdict> out;
  const std::string dir =
      fmt::format("{}/dispute-{}", taskDir("verdicts", task), dispute.toDecimal());
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json") continue;
    try {
      out.push_back(
          SignedVerdict::fromJson(nlohmann::json::parse(readText(entry.path().string()))));
    } catch (const std::exception&) {
      // A file that does not check out (altered, or half a copy made by other means): skipped.
    }
  }
  return out;
}

}  // namespace mlcp::bridge
