#include "bridge/checkers_client.h"

#include <fmt/format.h>

#include "base/error.h"
#include "bridge/contract_artifacts.h"

namespace mlcp::bridge {

using abi::Value;

const char* toString(VerifierStatus s) {
  static const char* const kNames[] = {"None",     "Open",      "Registered",
                                       "Anchored", "Committed", "Revealed"};
  auto i = static_cast<size_t>(s);
  return i < 6 ? kNames[i] : "?";
}

CheckersClient::CheckersClient(ChainClient& chain, const Address& checkers)
    : chain_(chain), checkers_(checkers), sender_(directSender(chain)) {
  chain_.addErrorAbi(mlcpCheckersAbi(), "MlcpCheckers");
}

Receipt CheckersClient::send(const EthKey& key, const std::string& fn,
                             const std::vector<Value>& args, const U256& value) {
  CallRequest req;
  req.to = checkers_;
  req.value = value;
  req.data = mlcpCheckersAbi().encodeCall(fn, args);
  return sender_(key, req, actionLabel("MlcpCheckers", fn, req.data));
}

std::vector<Value> CheckersClient::view(const std::string& fn, const std::vector<Value>& args) {
  CallRequest req;
  req.to = checkers_;
  req.data = mlcpCheckersAbi().encodeCall(fn, args);
  return mlcpCheckersAbi().decodeReturn(fn, chain_.call(req));
}

TaskChecks CheckersClient::taskChecks(const U256& task_id) {
  NamedOutputs n(mlcpCheckersAbi().function("taskChecks"),
                 view("taskChecks", {Value::uint(task_id)}));
  TaskChecks t;
  t.group = n.word("group");
  t.n = static_cast<uint32_t>(n.u64("n"));
  t.verifiers = static_cast<uint32_t>(n.u64("verifiers"));
  t.max_verifiers = static_cast<uint32_t>(n.u64("maxVerifiers"));
  t.samples_per_verifier = static_cast<uint32_t>(n.u64("samplesPerVerifier"));
  t.jackpot = n.word("jackpot");
  t.verifier_fee = n.word("verifierFee");
  t.verifier_deposit = n.word("verifierDeposit");
  return t;
}

VerifierSlot CheckersClient::verifier(const U256& task_id, uint64_t slot) {
  NamedOutputs n(mlcpCheckersAbi().function("verifiers"),
                 view("verifiers", {Value::uint(task_id), Value::uint(U256(slot))}));
  VerifierSlot v;
  v.account = n["account"].asAddress();
  v.registered_block = n.u64("registeredBlock");
  v.status = static_cast<VerifierStatus>(n.u64("status"));
  v.flags = static_cast<uint8_t>(n.u64("flags"));
  v.transcript = n["transcript"].asBytes32();
  return v;
}

uint64_t CheckersClient::flagCount(const U256& task_id, uint64_t checkpoint) {
  return view("flagCount", {Value::uint(task_id), Value::uint(U256(checkpoint))})[0].word.toU64();
}

U256 CheckersClient::owed(const Address& account) {
  return view("owed", {Value::address(account)})[0].word;
}

std::vector<uint64_t> CheckersClient::sampleOf(const Hash32& sample_seed, uint64_t n, uint64_t m) {
  // The returned values must outlive the loop (a range-for over view(...)[0].items would walk
  // a destroyed temporary).
  const std::vector<Value> returned = view(
      "sampleOf", {Value::fixedBytes(sample_seed), Value::uint(U256(n)), Value::uint(U256(m))});
  std::vector<uint64_t> out;
  for (const Value& k : returned.at(0).items) out.push_back(k.word.toU64());
  return out;
}

int64_t CheckersClient::slotOf(const U256& task_id, const Address& account) {
  const TaskChecks t = taskChecks(task_id);
  for (uint32_t s = 0; s < t.verifiers; ++s) {
    if (verifier(task_id, s).account == account) return s;
  }
  return -1;
}

uint64_t CheckersClient::registerVerifier(const EthKey& verifier, const U256& task_id,
                                          const Hash32& sample_commitment, Receipt* receipt) {
  Receipt r = send(verifier, "registerVerifier",
                   {Value::uint(task_id), Value::fixedBytes(sample_commitment)},
                   taskChecks(task_id).verifier_deposit);
  if (receipt) *receipt = r;
  for (const DecodedEvent& e : mlcpCheckersAbi().decodeLogs(r.logs, &checkers_)) {
    if (e.name() == "VerifierRegistered") return e["slot"].word.toU64();
  }
  throw ChainError(
      fmt::format("registerVerifier {} emitted no VerifierRegistered", toHex(r.tx_hash)));
}

Receipt CheckersClient::anchorSample(const EthKey& sender, const U256& task_id, uint64_t slot) {
  return send(sender, "anchorSample", {Value::uint(task_id), Value::uint(U256(slot))});
}

Receipt CheckersClient::commitVerdicts(const EthKey& verifier, const U256& task_id, uint64_t slot,
                                       const Hash32& verdicts_commitment) {
  return send(
      verifier, "commitVerdicts",
      {Value::uint(task_id), Value::uint(U256(slot)), Value::fixedBytes(verdicts_commitment)});
}

Receipt CheckersClient::revealVerdicts(const EthKey& sender, const U256& task_id, uint64_t slot,
                                       const Hash32& secret, const Hash32& anchor, uint8_t flags) {
  return send(sender, "revealVerdicts",
              {Value::uint(task_id), Value::uint(U256(slot)), Value::fixedBytes(secret),
               Value::fixedBytes(anchor), Value::uint(U256(flags))});
}

Receipt CheckersClient::withdraw(const EthKey& account) { return send(account, "withdraw", {}); }

}  // namespace mlcp::bridge
