// Checkpoint commitments: the solver's signature over (job, checkpoint index, Merkle root),
// checked on chain by MlcpJobs.commitCheckpoint (bridge/contracts/MlcpJobs.sol,
// checkpointMessage/checkpointDigest), so that anyone — a relayer, a gateway flushing an
// outbox — may send it:
//   message = keccak256(abi.encode(CHECKPOINT_TAG, chainId, contract, jobId, index, root))
//   digest  = keccak256("\x19Ethereum Signed Message:\n32" ++ message)      (EIP-191)
//   CHECKPOINT_TAG = keccak256("mlcp.checkpoint.v1")
// Binding the chain id and contract address means a signature cannot be replayed on another
// chain or another deployment.
#pragma once

#include <nlohmann/json.hpp>

#include "bridge/bytes.h"
#include "bridge/eth_key.h"
#include "bridge/u256.h"

namespace mlcp::bridge {

struct Commitment {
  uint64_t chain_id = 0;
  Address contract{};
  U256 job_id;
  uint64_t index = 0;  // checkpoint index, 1..numCheckpoints
  Hash32 root{};
};

Hash32 checkpointTag();
Hash32 checkpointMessage(const Commitment& c);
Hash32 checkpointDigest(const Commitment& c);

struct SignedCommitment {
  Commitment commitment;
  Signature signature;
  Address signer{};

  nlohmann::json toJson() const;
  // Throws VerificationError when the signature does not recover to `signer`.
  static SignedCommitment fromJson(const nlohmann::json& j);
};

SignedCommitment signCommitment(const Commitment& c, const EthKey& key);
// commitCheckpoint(jobId, index, root, v, r, s) call data.
Bytes commitCheckpointCalldata(const SignedCommitment& s);
// commitCheckpoints(jobId, firstIndex, roots[], vs[], rs[], ss[]) call data for consecutive
// commitments of one job (about half the gas per root of single commits in batches of 8+; see
// docs/bridge-gas.md). Throws InvalidArgument when they are empty, of several jobs or
// contracts, or not consecutive.
Bytes commitCheckpointsCalldata(const std::vector<SignedCommitment>& batch);

}  // namespace mlcp::bridge
