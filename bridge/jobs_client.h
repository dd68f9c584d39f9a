// JobsClient: MlcpJobs (bridge/contracts/MlcpJobs.sol, docs/bridge-protocol.md) as typed C++
// calls over a ChainClient — every state-changing function as one method that signs, sends and
// awaits the receipt (reverts throw RevertError with the contract's error name), and the views
// as plain structs. The value a call must carry (escrow, stake, bond) is read from the job
// where the protocol fixes it. MlcpMarket has every MlcpJobs function with the same ABI and
// meaning (a market task is a job of the game), so a JobsClient drives a market's tasks too
// (MarketClient::jobs()).
//
// Transactions go out through a TxSender: ChainClient::transact by default, or a
// JournaledSender (journaled_sender.h) for processes that must never send one action twice.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bridge/chain_client.h"
#include "bridge/commitment.h"

namespace mlcp::bridge {

enum class JobState : uint8_t {
  kNone,
  kOpen,
  kAccepted,
  kCommitted,
  kDisputed,
  kSettled,
  kSolverFailed,
  kCancelled,
  kVoided  // MlcpMarket only: a task whose predecessor failed (voidTask)
};
enum class DisputePhase : uint8_t { kNone, kSteps, kOperatorCount, kOperators, kVerdict };
const char* toString(JobState s);
const char* toString(DisputePhase p);

struct JobParams {
  Hash32 spec_hash{};
  Hash32 initial_root{};  // root of checkpoint 0
  uint32_t num_checkpoints = 0;
  uint32_t steps_per_checkpoint = 0;
  U256 escrow, stake, bond;
  uint32_t commit_timeout_s = 3600;
  uint32_t challenge_window_s = 3600;
  uint32_t move_timeout_s = 600;
  Address referee{};
};

struct JobInfo {
  Address submitter{}, solver{}, referee{};
  JobState state = JobState::kNone;
  uint32_t num_checkpoints = 0, committed = 0, steps_per_checkpoint = 0;
  uint32_t commit_timeout_s = 0, challenge_window_s = 0, move_timeout_s = 0;
  uint64_t commit_deadline = 0, window_end = 0;
  U256 escrow, stake, bond;
  Hash32 spec_hash{}, initial_root{};
};

struct DisputeInfo {
  Address challenger{};
  DisputePhase phase = DisputePhase::kNone;
  bool solver_turn = false;
  uint32_t checkpoint = 0;  // k: root k-1 agreed, root k disputed
  uint64_t deadline = 0;
  uint32_t lo = 0, hi = 0;  // agreed / disputed position
  uint32_t step = 0;        // operator phases: the disputed step
  uint32_t num_ops = 0;
  Hash32 claims_hash{}, hash_lo{}, solver_hash_hi{}, challenger_hash_hi{};
};

// Signs, sends and awaits one transaction; `label` names the action (contract, function and a
// hash of the call data), which a journaling sender uses to recognise a retried action.
using TxSender =
    std::function<Receipt(const EthKey& key, const CallRequest& req, const std::string& label)>;
// ChainClient::transact, the label unused.
TxSender directSender(ChainClient& chain);
// "MlcpMarket.postClaims 0x1234abcd5678ef90": the action a call is, for TxSender labels.
std::string actionLabel(const std::string& contract_name, const std::string& function,
                        const Bytes& calldata);

class JobsClient {
 public:
  // `contract_name` ("MlcpJobs" or "MlcpMarket") names the contract in labels and messages;
  // the custom errors of both are registered with `chain` for RevertError.
  JobsClient(ChainClient& chain, const Address& contract, std::string contract_name = "MlcpJobs");
  // Deploys MlcpJobs (the embedded build) and returns a client for it.
  static JobsClient deploy(ChainClient& chain, const EthKey& key, Receipt* receipt = nullptr);

  const Address& address() const { return contract_; }
  ChainClient& chain() { return chain_; }
  // Every later transaction of this client goes out through `sender`.
  void setSender(TxSender sender) { sender_ = std::move(sender); }

  // Views.
  U256 jobCount();
  JobInfo job(const U256& id);
  DisputeInfo dispute(const U256& id);
  Hash32 root(const U256& id, uint64_t index);
  U256 owed(const Address& account);
  std::vector<uint64_t> claimPoints(const U256& id);
  // The solver's latest claims in the job's dispute (from its ClaimsPosted log): what the
  // challenger must pass back to chooseSegment.
  std::vector<Hash32> lastClaims(const U256& id);
  // The open dispute's id (unique per contract, new at each challenge; 0: none): what referees
  // sign (verdict.h).
  U256 disputeId(const U256& id);
  // The contract's own verdictDigest(id, solverCorrect), for cross-checks.
  Hash32 verdictDigest(const U256& id, bool solver_correct);

  // Moves; each returns the mined receipt.
  U256 createJob(const EthKey& submitter, const JobParams& p,
                 Receipt* receipt = nullptr);  // the new id
  Receipt cancelJob(const EthKey& submitter, const U256& id);
  Receipt acceptJob(const EthKey& solver, const U256& id);  // posts the job's stake
  Receipt commitCheckpoint(const EthKey& sender, const SignedCommitment& c);
  // Consecutive commitments of one job in one transaction.
  Receipt commitCheckpoints(const EthKey& sender, const std::vector<SignedCommitment>& batch);
  Receipt challenge(const EthKey& challenger, const U256& id, uint64_t k,
                    const Hash32& challenger_root);
  Receipt postClaims(const EthKey& solver, const U256& id, const std::vector<Hash32>& hashes);
  Receipt postOperators(const EthKey& solver, const U256& id, uint32_t num_ops,
                        const std::vector<Hash32>& hashes);
  Receipt chooseSegment(const EthKey& challenger, const U256& id, uint64_t segment,
                        const std::vector<Hash32>& hashes, const Hash32& challenger_hash);
  Receipt resolve(const EthKey& referee, const U256& id, bool solver_correct);
  // The verdict with k of the job's referees' signatures (verdict.h), sent by anyone.
  Receipt resolveSigned(const EthKey& sender, const U256& id, bool solver_correct,
                        const std::vector<Signature>& signatures);
  Receipt timeout(const EthKey& sender, const U256& id);
  Receipt settle(const EthKey& sender, const U256& id);
  Receipt withdraw(const EthKey& account);

 private:
  Receipt send(const EthKey& key, const std::string& fn, const std::vector<abi::Value>& args,
               const U256& value = U256(0));
  std::vector<abi::Value> view(const std::string& fn, const std::vector<abi::Value>& args);

  ChainClient& chain_;
  Address contract_;
  std::string name_;
  TxSender sender_;
};

}  // namespace mlcp::bridge
