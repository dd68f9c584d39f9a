// Referee verdicts signed off chain (docs/bridge-protocol.md, "The verdict signature"): each
// referee of a job's committee signs, and anyone relays k signatures with resolveSigned
// (JobsClient::resolveSigned) — so a committee's members need no gas and no node of their own.
//   message = keccak256(abi.encode(VERDICT_TAG, chainId, contract, jobId, disputeId,
//                                  solverCorrect))
//   digest  = keccak256("\x19Ethereum Signed Message:\n32" ++ message)          (EIP-191)
//   VERDICT_TAG = keccak256("mlcp.verdict.v1")
// The dispute id (new at every challenge) binds a signature to one dispute: it cannot be
// replayed on another dispute of the same job, another job, contract or chain.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "bridge/bytes.h"
#include "bridge/eth_key.h"
#include "bridge/u256.h"

namespace mlcp::bridge {

struct Verdict {
  uint64_t chain_id = 0;
  Address contract{};
  U256 job_id;      // a market task id, or an MlcpJobs job id
  U256 dispute_id;  // JobsClient::disputeId(job_id) while the dispute is open
  bool solver_correct = false;
};

Hash32 verdictTag();
Hash32 verdictMessage(const Verdict& v);
Hash32 verdictDigest(const Verdict& v);

struct SignedVerdict {
  Verdict verdict;
  Signature signature;
  Address signer{};

  nlohmann::json toJson() const;
  // Throws VerificationError when the signature does not recover to `signer` (a file that was
  // altered, or signed over another verdict).
  static SignedVerdict fromJson(const nlohmann::json& j);
};

SignedVerdict signVerdict(const Verdict& v, const EthKey& referee);

// The signatures of `signed_verdicts` that are over exactly `v`, one per distinct signer, in
// the order given (what a relayer passes to resolveSigned; the contract checks membership).
std::vector<Signature> signaturesFor(const Verdict& v,
                                     const std::vector<SignedVerdict>& signed_verdicts);

}  // namespace mlcp::bridge
