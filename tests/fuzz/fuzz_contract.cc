// Fuzzes a contract ABI's decoding of what a node returns (bridge/contract.h), with the
// protocol contract's ABI (bridge/contract_artifacts.h): revert data to a custom or built-in
// error, log entries to events, return data to values; and the reading of a solc ABI JSON file
// (ContractAbi::parse). ChainError / InvalidArgument / UsageError are the expected rejections.
//
// Byte 0 picks the mode, byte 1 an event or function of the ABI; the rest is the data:
//   0: revert data -> decodeError, decodeBuiltinError
//   1: a log: byte 2 = topic count (the first is the picked event's topic0), then 32 bytes per
//      further topic, then the log data -> decodeLog, toString
//   2: return data of the picked function -> decodeReturn
//   3: the rest is an ABI JSON array, a NUL, then data -> ContractAbi::parse, then the data as
//      an error of that ABI and as every function's return data
#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bridge/contract.h"
#include "bridge/contract_artifacts.h"
#include "tests/fuzz/fuzz_util.h"

namespace bridge = mlcp::bridge;
using mlcp::fuzz::expectOnlyMlcpErrors;
using mlcp::fuzz::fuzzCheck;

namespace {

std::vector<std::string> eventNames() {
  // The protocol contract's events, by name (ContractAbi lists functions, not events).
  return {"ChallengeWindowOpened", "Challenged",   "CheckpointCommitted", "ClaimsPosted",
          "CommitDeadlineMissed",  "Credited",     "DisputeResolved",     "JobAccepted",
          "JobCancelled",          "JobCreated",   "JobSettled",          "OperatorsPosted",
          "SegmentChosen",         "SolverFailed", "VerdictRequested",    "Withdrawn"};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bridge::ContractAbi& jobs = bridge::mlcpJobsAbi();
  static const std::vector<std::string> kEvents = eventNames();
  const uint8_t mode = data[0] % 4, pick = data[1];
  const uint8_t* rest = data + 2;
  const size_t rest_size = size - 2;
  const bridge::Bytes bytes(rest, rest + rest_size);
  expectOnlyMlcpErrors([&] {
    switch (mode) {
      case 0:
        jobs.decodeError(bytes);
        bridge::decodeBuiltinError(bytes);
        break;
      case 1: {
        bridge::Log log;
        log.topics.push_back(jobs.event(kEvents[pick % kEvents.size()]).topic0);
        size_t pos = 0;
        const size_t more = rest_size > 0 ? rest[pos++] % 5 : 0;
        for (size_t i = 0; i < more && rest_size - pos >= 32; ++i, pos += 32) {
          bridge::Hash32 t{};
          std::copy(rest + pos, rest + pos + 32, t.begin());
          log.topics.push_back(t);
        }
        log.data.assign(rest + pos, rest + rest_size);
        const auto ev = jobs.decodeLog(log);
        fuzzCheck(ev.has_value(), "a log with an event's topic0 decodes as that event");
        ev->toString();
        break;
      }
      case 2: {
        const auto& fs = jobs.functions();
        jobs.decodeReturn(fs[pick % fs.size()].signature, bytes);
        break;
      }
      case 3: {
        const auto* nul = std::find(rest, rest + rest_size, uint8_t{0});
        const nlohmann::json j = nlohmann::json::parse(rest, nul, nullptr, false);
        if (j.is_discarded()) break;
        const bridge::ContractAbi abi = bridge::ContractAbi::parse(j, "fuzz.abi.json");
        const bridge::Bytes payload(nul == rest + rest_size ? nul : nul + 1, rest + rest_size);
        abi.decodeError(payload);
        for (const bridge::AbiFunction& f : abi.functions()) {
          abi.decodeReturn(f.signature, payload);
        }
        break;
      }
    }
  });
  return 0;
}
