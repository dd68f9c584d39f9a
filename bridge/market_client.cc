#include "bridge/market_client.h"

#include <fmt/format.h>

#include "base/error.h"
#include "bridge/contract_artifacts.h"

namespace mlcp::bridge {

using abi::Value;

namespace {

Value specTuple(const MarketJobSpec& s) {
  return Value::list({Value::fixedBytes(s.spec_hash), Value::fixedBytes(s.initial_root),
                      Value::uint(s.num_tasks), Value::uint(s.checkpoints_per_task),
                      Value::uint(s.steps_per_checkpoint), Value::uint(s.units_per_checkpoint),
                      Value::uint(s.price_per_unit), Value::uint(s.commit_timeout_s),
                      Value::uint(s.challenge_window_s), Value::uint(s.move_timeout_s),
                      Value::uint(s.verdict_window_s), Value::uint(s.phase_window_s),
                      Value::uint(s.committee), Value::address(s.referee)});
}

Value econTuple(const Economics& e) {
  return Value::list({Value::uint(e.stake), Value::uint(e.bond), Value::uint(e.verifier_fee),
                      Value::uint(e.verifier_deposit), Value::uint(e.jackpot),
                      Value::uint(e.forced_rate_bps), Value::uint(e.max_verifiers),
                      Value::uint(e.samples_per_verifier)});
}

Economics econFrom(const Value& t) {
  const auto& v = t.items;
  if (v.size() != 8) throw ChainError("defaultEconomics returned a tuple of the wrong size");
  Economics e;
  e.stake = v[0].word;
  e.bond = v[1].word;
  e.verifier_fee = v[2].word;
  e.verifier_deposit = v[3].word;
  e.jackpot = v[4].word;
  e.forced_rate_bps = static_cast<uint16_t>(v[5].word.toU64());
  e.max_verifiers = static_cast<uint8_t>(v[6].word.toU64());
  e.samples_per_verifier = static_cast<uint8_t>(v[7].word.toU64());
  return e;
}

}  // namespace

U256 marketEscrow(const MarketJobSpec& spec, const Economics& econ) {
  return U256(spec.num_tasks) * (spec.taskPayment() + econ.budget());
}

MarketClient::MarketClient(ChainClient& chain, const Address& market)
    : chain_(chain),
      market_(market),
      jobs_(chain, market, "MlcpMarket"),
      sender_(directSender(chain)) {
  chain_.addErrorAbi(mlcpCheckersAbi(), "MlcpCheckers");
  chain_.addErrorAbi(mlcpMarketAbi(), "MlcpMarket");
}

MarketClient MarketClient::deploy(ChainClient& chain, const EthKey& key, Receipt* receipt) {
  Receipt r = chain.deploy(key, mlcpMarketBytecode());
  if (receipt) *receipt = r;
  return MarketClient(chain, *r.contract_address);
}

void MarketClient::setSender(TxSender sender) {
  sender_ = sender;
  jobs_.setSender(std::move(sender));
}

Receipt MarketClient::send(const EthKey& key, const std::string& fn, const std::vector<Value>& args,
                           const U256& value) {
  CallRequest req;
  req.to = market_;
  req.value = value;
  req.data = mlcpMarketAbi().encodeCall(fn, args);
  return sender_(key, req, actionLabel("MlcpMarket", fn, req.data));
}

std::vector<Value> MarketClient::view(const std::string& fn, const std::vector<Value>& args) {
  CallRequest req;
  req.to = market_;
  req.data = mlcpMarketAbi().encodeCall(fn, args);
  return mlcpMarketAbi().decodeReturn(fn, chain_.call(req));
}

Address MarketClient::checkersAddress() {
  if (!checkers_) checkers_ = view("checkers", {})[0].asAddress();
  return *checkers_;
}

Economics MarketClient::defaultEconomics(const MarketJobSpec& spec) {
  return econFrom(view("defaultEconomics", {specTuple(spec)})[0]);
}

GroupInfo MarketClient::group(const U256& first_task) {
  NamedOutputs n(mlcpMarketAbi().function("groups"), view("groups", {Value::uint(first_task)}));
  GroupInfo g;
  g.first_task = n.word("firstTask");
  g.num_tasks = static_cast<uint32_t>(n.u64("numTasks"));
  g.verdict_window_s = static_cast<uint32_t>(n.u64("verdictWindow"));
  g.phase_window_s = static_cast<uint32_t>(n.u64("phaseWindow"));
  g.committee = static_cast<uint32_t>(n.u64("committee"));
  g.forced_rate_bps = static_cast<uint16_t>(n.u64("forcedRateBps"));
  g.price_per_unit = n.word("pricePerUnit");
  g.units_per_checkpoint = n.u64("unitsPerCheckpoint");
  return g;
}

TaskInfo MarketClient::task(const U256& task_id) {
  NamedOutputs n(mlcpMarketAbi().function("tasks"), view("tasks", {Value::uint(task_id)}));
  TaskInfo t;
  t.group = n.word("group");
  t.index = static_cast<uint32_t>(n.u64("index"));
  t.accept_block = n.u64("acceptBlock");
  t.forced_checkpoint = static_cast<uint32_t>(n.u64("forcedCheckpoint"));
  t.failed_checkpoint = static_cast<uint32_t>(n.u64("failedCheckpoint"));
  t.flags = static_cast<uint8_t>(n.u64("flags"));
  t.seed_transcript = n["seedTranscript"].asBytes32();
  return t;
}

TaskPhases MarketClient::phases(const U256& task_id) {
  NamedOutputs n(mlcpMarketAbi().function("checkPhase"),
                 view("checkPhase", {Value::uint(task_id)}));
  TaskPhases p;
  p.state = static_cast<JobState>(n.u64("state"));
  p.t1 = n.u64("t1");
  p.t2 = n.u64("t2");
  if (p.t1 != 0) p.t3 = p.t2 + group(task(task_id).group).phase_window_s;
  return p;
}

Committee MarketClient::committee(uint32_t id) {
  NamedOutputs n(mlcpMarketAbi().function("committee"), view("committee", {Value::uint(id)}));
  Committee c;
  c.threshold = static_cast<uint32_t>(n.u64("threshold"));
  for (const Value& m : n["members"].items) c.members.push_back(m.asAddress());
  return c;
}

uint64_t MarketClient::forcedCheckpointOf(const Hash32& seed, const Hash32& anchor,
                                          uint64_t rate_bps, uint64_t n) {
  return view("forcedCheckpointOf", {Value::fixedBytes(seed), Value::fixedBytes(anchor),
                                     Value::uint(U256(rate_bps)), Value::uint(U256(n))})[0]
      .word.toU64();
}

Hash32 MarketClient::forcedRoot(const U256& task_id, uint64_t k, const Hash32& true_root,
                                const Hash32& seed) {
  return view("forcedRoot", {Value::uint(task_id), Value::uint(U256(k)),
                             Value::fixedBytes(true_root), Value::fixedBytes(seed)})[0]
      .asBytes32();
}

std::optional<Hash32> MarketClient::seedAnchor(const U256& task_id) {
  const AbiEvent& ev = mlcpMarketAbi().event("SeedAnchored");
  const std::vector<Log> logs = chain_.logs(market_, {ev.topic0, task_id.toBigEndian()});
  if (logs.empty()) return std::nullopt;
  return (*mlcpMarketAbi().decodeLog(logs.back()))["anchor"].asBytes32();
}

std::vector<U256> MarketClient::marketJobs() {
  const AbiEvent& ev = mlcpMarketAbi().event("MarketJobCreated");
  std::vector<U256> out;
  for (const Log& l : chain_.logs(market_, {ev.topic0})) {
    out.push_back((*mlcpMarketAbi().decodeLog(l))["firstTask"].word);
  }
  return out;
}

U256 MarketClient::createMarketJob(const EthKey& submitter, const MarketJobSpec& spec,
                                   const Economics& econ, Receipt* receipt) {
  Receipt r = send(submitter, "createMarketJob", {specTuple(spec), econTuple(econ)},
                   marketEscrow(spec, econ));
  if (receipt) *receipt = r;
  for (const DecodedEvent& e : mlcpMarketAbi().decodeLogs(r.logs, &market_)) {
    if (e.name() == "MarketJobCreated") return e["firstTask"].word;
  }
  throw ChainError(fmt::format("createMarketJob {} emitted no MarketJobCreated", toHex(r.tx_hash)));
}

uint32_t MarketClient::createCommittee(const EthKey& sender, const std::vector<Address>& members,
                                       uint32_t threshold, Receipt* receipt) {
  std::vector<Value> ms;
  for (const Address& a : members) ms.push_back(Value::address(a));
  Receipt r = send(sender, "createCommittee", {Value::list(ms), Value::uint(threshold)});
  if (receipt) *receipt = r;
  for (const DecodedEvent& e : mlcpMarketAbi().decodeLogs(r.logs, &market_)) {
    if (e.name() == "CommitteeCreated") return static_cast<uint32_t>(e["committee"].word.toU64());
  }
  throw ChainError(fmt::format("createCommittee {} emitted no CommitteeCreated", toHex(r.tx_hash)));
}

Receipt MarketClient::acceptTask(const EthKey& solver, const U256& task_id,
                                 const Hash32& seed_commitment) {
  return send(solver, "acceptTask", {Value::uint(task_id), Value::fixedBytes(seed_commitment)},
              jobs_.job(task_id).stake);
}

Receipt MarketClient::anchorSeed(const EthKey& sender, const U256& task_id) {
  return send(sender, "anchorSeed", {Value::uint(task_id)});
}

Receipt MarketClient::revealSeed(const EthKey& sender, const U256& task_id, const Hash32& seed,
                                 const Hash32& anchor, const Hash32& true_root) {
  return send(sender, "revealSeed",
              {Value::uint(task_id), Value::fixedBytes(seed), Value::fixedBytes(anchor),
               Value::fixedBytes(true_root)});
}

Receipt MarketClient::voidTask(const EthKey& sender, const U256& task_id) {
  return send(sender, "voidTask", {Value::uint(task_id)});
}

}  // namespace mlcp::bridge
