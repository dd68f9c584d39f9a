// DisputePlayer: plays one side of MlcpJobs' bisection game (docs/bridge-protocol.md steps
// 4-7) from that side's own hashes, one move at a time, reading the dispute's state from the
// chain before each move. The caller supplies what only it can compute (the verification
// subsystem's per-step state hashes and per-operator prefix hashes); the player supplies the
// protocol: which positions to claim, which segment to choose, which call to make.
//
//   Steps phase       position p in 0..S of checkpoint interval k: p = 0 is root k-1 (agreed),
//                     p = S is root k, p in 1..S-1 the state hash after global step (k-1)S + p.
//   Operator phases   for the disputed step s, position q in 0..numOps+1: q = 0 the step's
//                     agreed input, q in 1..numOps the operator prefix-chain hash after
//                     operators 0..q-1, q = numOps+1 the party's output hash of step s.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bridge/jobs_client.h"

namespace mlcp::bridge {

// The positions the solver claims at in [lo, hi]: p_i = lo + (hi-lo)*i/parts for
// i = 1..parts-1, parts = min(ARITY = 8, hi-lo) (the contract's claimPoints).
std::vector<uint64_t> bisectionPoints(uint64_t lo, uint64_t hi);

struct PartyHashes {
  std::function<Hash32(uint64_t checkpoint, uint64_t position)> step_hash;
  std::function<uint32_t(uint64_t step)> num_ops;  // solver only
  std::function<Hash32(uint64_t step, uint64_t position, uint32_t num_ops)> operator_hash;
};

enum class DisputeRole { kSolver, kChallenger };

class DisputePlayer {
 public:
  DisputePlayer(JobsClient& jobs, EthKey key, U256 job_id, DisputeRole role, PartyHashes hashes);

  // Makes this party's move if one is due now; returns what it did ("postClaims [0,1024] 7
  // hashes"), or "" when it is not this party's turn or no dispute is open. Moves throw
  // RevertError when the contract refuses them (e.g. DeadlinePassed).
  std::string move();
  // Gas of every move this player made.
  uint64_t gasUsed() const { return gas_used_; }
  // Wei this player's moves paid for gas (gas used x effective gas price, summed).
  const U256& feesPaid() const { return fees_; }

 private:
  JobsClient& jobs_;
  EthKey key_;
  U256 job_id_;
  DisputeRole role_;
  PartyHashes hashes_;
  uint64_t gas_used_ = 0;
  U256 fees_;
};

}  // namespace mlcp::bridge
