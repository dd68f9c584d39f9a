#include "bridge/jobs_client.h"

#include <fmt/format.h>

#include "bridge/contract_artifacts.h"
#include "bridge/keccak.h"

namespace mlcp::bridge {

using abi::Value;

namespace {

std::vector<Value> hashList(const std::vector<Hash32>& hs) {
  std::vector<Value> v;
  for (const Hash32& h : hs) v.push_back(Value::fixedBytes(h));
  return v;
}

uint32_t u32(const NamedOutputs& n, const char* name) { return static_cast<uint32_t>(n.u64(name)); }

}  // namespace

const char* toString(JobState s) {
  static const char* const kNames[] = {"None",         "Open",      "Accepted",
                                       "Committed",    "Disputed",  "Settled",
                                       "SolverFailed", "Cancelled", "Voided"};
  auto i = static_cast<size_t>(s);
  return i < 9 ? kNames[i] : "?";
}

const char* toString(DisputePhase p) {
  static const char* const kNames[] = {"None", "Steps", "OperatorCount", "Operators", "Verdict"};
  auto i = static_cast<size_t>(p);
  return i < 5 ? kNames[i] : "?";
}

TxSender directSender(ChainClient& chain) {
  return [&chain](const EthKey& key, const CallRequest& req, const std::string&) {
    return chain.transact(key, req);
  };
}

std::string actionLabel(const std::string& contract_name, const std::string& function,
                        const Bytes& calldata) {
  const Hash32 h = keccak256(calldata);
  return fmt::format("{}.{} {}", contract_name, function, toHex(h.data(), 8));
}

JobsClient::JobsClient(ChainClient& chain, const Address& contract, std::string contract_name)
    : chain_(chain),
      contract_(contract),
      name_(std::move(contract_name)),
      sender_(directSender(chain)) {
  // The market's errors are a superset of MlcpJobs' (same selectors); register both so that a
  // revert of either is named.
  chain_.addErrorAbi(mlcpJobsAbi(), "MlcpJobs");
  if (name_ != "MlcpJobs") chain_.addErrorAbi(mlcpMarketAbi(), name_);
}

JobsClient JobsClient::deploy(ChainClient& chain, const EthKey& key, Receipt* receipt) {
  Receipt r = chain.deploy(key, mlcpJobsBytecode());
  if (receipt) *receipt = r;
  return JobsClient(chain, *r.contract_address);
}

Receipt JobsClient::send(const EthKey& key, const std::string& fn, const std::vector<Value>& args,
                         const U256& value) {
  CallRequest req;
  req.to = contract_;
  req.value = value;
  req.data = mlcpJobsAbi().encodeCall(fn, args);
  return sender_(key, req, actionLabel(name_, fn, req.data));
}

std::vector<Value> JobsClient::view(const std::string& fn, const std::vector<Value>& args) {
  CallRequest req;
  req.to = contract_;
  req.data = mlcpJobsAbi().encodeCall(fn, args);
  return mlcpJobsAbi().decodeReturn(fn, chain_.call(req));
}

U256 JobsClient::jobCount() { return view("jobCount", {})[0].word; }

JobInfo JobsClient::job(const U256& id) {
  NamedOutputs n(mlcpJobsAbi().function("jobs"), view("jobs", {Value::uint(id)}));
  JobInfo j;
  j.submitter = n["submitter"].asAddress();
  j.solver = n["solver"].asAddress();
  j.referee = n["referee"].asAddress();
  j.state = static_cast<JobState>(u32(n, "state"));
  j.num_checkpoints = u32(n, "numCheckpoints");
  j.committed = u32(n, "committed");
  j.steps_per_checkpoint = u32(n, "stepsPerCheckpoint");
  j.commit_timeout_s = u32(n, "commitTimeout");
  j.challenge_window_s = u32(n, "challengeWindow");
  j.move_timeout_s = u32(n, "moveTimeout");
  j.commit_deadline = n["commitDeadline"].word.toU64();
  j.window_end = n["windowEnd"].word.toU64();
  j.escrow = n["escrow"].word;
  j.stake = n["stake"].word;
  j.bond = n["bond"].word;
  j.spec_hash = n["specHash"].asBytes32();
  j.initial_root = n["initialRoot"].asBytes32();
  return j;
}

DisputeInfo JobsClient::dispute(const U256& id) {
  NamedOutputs n(mlcpJobsAbi().function("disputes"), view("disputes", {Value::uint(id)}));
  DisputeInfo d;
  d.challenger = n["challenger"].asAddress();
  d.phase = static_cast<DisputePhase>(u32(n, "phase"));
  d.solver_turn = n["solverTurn"].asBool();
  d.checkpoint = u32(n, "checkpoint");
  d.deadline = n["deadline"].word.toU64();
  d.lo = u32(n, "lo");
  d.hi = u32(n, "hi");
  d.step = u32(n, "step");
  d.num_ops = u32(n, "numOps");
  d.claims_hash = n["claimsHash"].asBytes32();
  d.hash_lo = n["hashLo"].asBytes32();
  d.solver_hash_hi = n["solverHashHi"].asBytes32();
  d.challenger_hash_hi = n["challengerHashHi"].asBytes32();
  return d;
}

Hash32 JobsClient::root(const U256& id, uint64_t index) {
  return view("roots", {Value::uint(id), Value::uint(U256(index))})[0].asBytes32();
}

U256 JobsClient::owed(const Address& account) {
  return view("owed", {Value::address(account)})[0].word;
}

std::vector<uint64_t> JobsClient::claimPoints(const U256& id) {
  const std::vector<Value> returned = view("claimPoints", {Value::uint(id)});  // outlives the loop
  std::vector<uint64_t> out;
  for (const Value& p : returned.at(0).items) out.push_back(p.word.toU64());
  return out;
}

std::vector<Hash32> JobsClient::lastClaims(const U256& id) {
  const AbiEvent& ev = mlcpJobsAbi().event("ClaimsPosted");
  std::vector<Log> logs = chain_.logs(contract_, {ev.topic0, id.toBigEndian()});
  if (logs.empty()) throw ChainError(fmt::format("job {} has no posted claims", id.toDecimal()));
  std::optional<DecodedEvent> d = mlcpJobsAbi().decodeLog(logs.back());
  std::vector<Hash32> out;
  for (const Value& h : (*d)["hashes"].items) out.push_back(h.asBytes32());
  // The contract keeps only their hash: check that these are the current claims.
  Bytes packed;
  for (const Hash32& h : out) packed.insert(packed.end(), h.begin(), h.end());
  if (keccak256(packed) != dispute(id).claims_hash) {
    throw ChainError(fmt::format(
        "the latest ClaimsPosted log of job {} does not match the dispute's claims hash",
        id.toDecimal()));
  }
  return out;
}

U256 JobsClient::createJob(const EthKey& submitter, const JobParams& p, Receipt* receipt) {
  Receipt r = send(
      submitter, "createJob",
      {Value::fixedBytes(p.spec_hash), Value::fixedBytes(p.initial_root),
       Value::uint(p.num_checkpoints), Value::uint(p.steps_per_checkpoint), Value::uint(p.stake),
       Value::uint(p.bond), Value::uint(p.commit_timeout_s), Value::uint(p.challenge_window_s),
       Value::uint(p.move_timeout_s), Value::address(p.referee)},
      p.escrow);
  if (receipt) *receipt = r;
  for (const DecodedEvent& e : mlcpJobsAbi().decodeLogs(r.logs, &contract_)) {
    if (e.name() == "JobCreated") return e["jobId"].word;
  }
  throw ChainError(fmt::format("createJob {} emitted no JobCreated", toHex(r.tx_hash)));
}

Receipt JobsClient::cancelJob(const EthKey& submitter, const U256& id) {
  return send(submitter, "cancelJob", {Value::uint(id)});
}

Receipt JobsClient::acceptJob(const EthKey& solver, const U256& id) {
  return send(solver, "acceptJob", {Value::uint(id)}, job(id).stake);
}

Receipt JobsClient::commitCheckpoint(const EthKey& sender, const SignedCommitment& c) {
  if (c.commitment.contract != contract_) {
    throw InvalidArgument("the commitment is signed for another contract than this client's");
  }
  CallRequest req;
  req.to = contract_;
  req.data = commitCheckpointCalldata(c);
  return sender_(sender, req, actionLabel(name_, "commitCheckpoint", req.data));
}

Receipt JobsClient::commitCheckpoints(const EthKey& sender,
                                      const std::vector<SignedCommitment>& batch) {
  for (const SignedCommitment& c : batch) {
    if (c.commitment.contract != contract_)
      throw InvalidArgument("a commitment is signed for another contract than this client's");
  }
  CallRequest req;
  req.to = contract_;
  req.data = commitCheckpointsCalldata(batch);
  return sender_(sender, req, actionLabel(name_, "commitCheckpoints", req.data));
}

Receipt JobsClient::challenge(const EthKey& challenger, const U256& id, uint64_t k,
                              const Hash32& root) {
  return send(challenger, "challenge",
              {Value::uint(id), Value::uint(U256(k)), Value::fixedBytes(root)}, job(id).bond);
}

Receipt JobsClient::postClaims(const EthKey& solver, const U256& id,
                               const std::vector<Hash32>& hashes) {
  return send(solver, "postClaims", {Value::uint(id), Value::list(hashList(hashes))});
}

Receipt JobsClient::postOperators(const EthKey& solver, const U256& id, uint32_t num_ops,
                                  const std::vector<Hash32>& hashes) {
  return send(solver, "postOperators",
              {Value::uint(id), Value::uint(num_ops), Value::list(hashList(hashes))});
}

Receipt JobsClient::chooseSegment(const EthKey& challenger, const U256& id, uint64_t segment,
                                  const std::vector<Hash32>& hashes,
                                  const Hash32& challenger_hash) {
  return send(challenger, "chooseSegment",
              {Value::uint(id), Value::uint(U256(segment)), Value::list(hashList(hashes)),
               Value::fixedBytes(challenger_hash)});
}

Receipt JobsClient::resolve(const EthKey& referee, const U256& id, bool solver_correct) {
  return send(referee, "resolve", {Value::uint(id), Value::boolean(solver_correct)});
}

Receipt JobsClient::resolveSigned(const EthKey& sender, const U256& id, bool solver_correct,
                                  const std::vector<Signature>& signatures) {
  std::vector<Value> vs, rs, ss;
  for (const Signature& sig : signatures) {
    vs.push_back(Value::uint(U256(27u + sig.recovery_id)));
    rs.push_back(Value::fixedBytes(sig.r));
    ss.push_back(Value::fixedBytes(sig.s));
  }
  return send(sender, "resolveSigned",
              {Value::uint(id), Value::boolean(solver_correct), Value::list(std::move(vs)),
               Value::list(std::move(rs)), Value::list(std::move(ss))});
}

U256 JobsClient::disputeId(const U256& id) { return view("disputeId", {Value::uint(id)})[0].word; }

Hash32 JobsClient::verdictDigest(const U256& id, bool solver_correct) {
  return view("verdictDigest", {Value::uint(id), Value::boolean(solver_correct)})[0].asBytes32();
}

Receipt JobsClient::timeout(const EthKey& sender, const U256& id) {
  return send(sender, "timeout", {Value::uint(id)});
}
Receipt JobsClient::settle(const EthKey& sender, const U256& id) {
  return send(sender, "settle", {Value::uint(id)});
}
Receipt JobsClient::withdraw(const EthKey& account) { return send(account, "withdraw", {}); }

}  // namespace mlcp::bridge
