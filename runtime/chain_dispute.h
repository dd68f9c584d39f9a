// The dispute played on the protocol chain (docs/bridge-protocol.md steps 3-6): SOLVER_RUN is
// the run whose roots the solver committed, CHALLENGER_RUN the challenger's own run of the same
// job. One process plays the three roles with their own keys — each move a real transaction —
// from what each party's run directory and re-executions give (runtime/dispute.h):
//  1. the challenger finds the first checkpoint whose committed root differs from its own and
//     challenges it, posting its bond;
//  2. solver and challenger bisect on chain (bridge::DisputePlayer): over the steps of that
//     interval (checkpoint roots at the ends, recorded state chain inside), then over the
//     operators of the one step (each party's re-executed prefix hashes);
//  3. the referee recomputes the one operator the game ends at from the challenger's agreed
//     prefix (runtime/referee.h) and posts whose output hash is right.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "collectives/communicator.h"

namespace mlcp::runtime {

struct ChainDisputeRequest {
  std::string solver_run, challenger_run;
  std::string rpc, contract;
  uint64_t job = 0;
  std::string solver_key, challenger_key, referee_key;  // key files
  std::string work_dir;  // re-executions (default CHALLENGER_RUN/chain-dispute)
};

struct ChainDisputeOutcome {
  bool disputed = false;   // false: every committed root is the challenger's own
  int64_t checkpoint = 0;  // the challenged commitment
  int64_t step = 0;        // the disputed step
  std::string operator_name;
  bool verdict = false;  // the dispute reached the referee's verdict
  bool solver_correct = false;
  int moves = 0;
  std::string summary;  // one sentence
};

// Plays the dispute to its end on `self` (one process); `log` receives one line per move.
// UsageError for runs or arguments that cannot be disputed; ChainError when the node refuses.
ChainDisputeOutcome playChainDispute(const ChainDisputeRequest& request,
                                     collectives::Communicator& self,
                                     const std::function<void(const std::string&)>& log);

}  // namespace mlcp::runtime
