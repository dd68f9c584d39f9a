// Dispute bisection between two runs of the same job (the shape of Gensyn's Verde), as
// numbered steps (docs/verification.md, "Dispute"):
//  1. Both runs' checkpoints are opened verified; the runs must be of the same job (identical
//     job text) and agree on their first common checkpoint (the seed's state, step 0).
//  2. Checkpoint phase: bisect over the common checkpoints' roots to an adjacent pair
//     (agreed K1, disputed K2).
//  3. Step phase: bisect over the per-step state hashes each run recorded for K1+1..K2 to one
//     step S whose input state both parties agree on and whose output state they do not.
//  4. Each party re-executes steps K1+1..S from its own checkpoint K1 on this process, as it
//     ran them (a run that planted a fault reproduces it), recording the operators of step S
//     (runtime/operator_trace.h). A party whose re-execution does not reproduce its own
//     recorded hashes at S-1 and S contradicts itself and loses.
//  5. Operator phase: bisect over the two traces' prefix hashes to the first operator whose
//     inputs agree and whose outputs differ.
//  6. The referee (runtime/referee.h) recomputes that operator from the agreed inputs; the
//     party whose claimed output hash differs from the referee's is wrong (both, if neither
//     matches).
// Every round is a pair of claims (phase, position, hash of A, hash of B): small, serialisable
// messages — the same ones the on-chain game carries (issue #5).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "collectives/communicator.h"
#include "jobs/job_spec.h"
#include "runtime/operator_trace.h"
#include "runtime/trainer.h"
#include "verify/hash.h"

namespace mlcp::runtime {

struct DisputeRound {
  std::string phase;     // "checkpoint", "step", "operator"
  int64_t position = 0;  // checkpoint step, step, or operator index
  std::string label;     // the operator's name in the operator phase
  std::string claim_a, claim_b;
  bool agree() const { return claim_a == claim_b; }
};

struct DisputeOutcome {
  std::string run_a, run_b;
  bool disputed = false;  // false: the runs end at the same root (nothing to dispute)
  std::vector<DisputeRound> rounds;
  // Lengths of the three bisected intervals and the rounds each phase played (at most
  // ceil(log2(length)) each).
  int64_t checkpoint_span = 0, step_span = 0, operator_count = 0;
  int64_t checkpoint_rounds = 0, step_rounds = 0, operator_rounds = 0;
  int64_t agreed_checkpoint = 0, disputed_checkpoint = 0;
  int64_t step = 0;  // the disputed step (1-based)
  int64_t operator_index = -1;
  std::string operator_name, operator_description;
  std::string claim_a, claim_b, referee;  // the disputed operator's output hashes
  std::string wrong;                      // "A", "B" or "both"
  std::string reason;                     // one sentence

  nlohmann::json toJson() const;
};

// One party of a dispute as its run directory shows it: checkpoint roots (verified), the per-step
// state chain it recorded, the fault it planted (so its re-execution reproduces it).
struct DisputeParty {
  std::string name;  // "A", "B", "solver", ...
  std::string run_dir;
  std::map<int64_t, verify::Hash256> roots;  // step -> checkpoint root
  std::map<int64_t, std::string> dirs;       // step -> checkpoint folder
  std::map<int64_t, nlohmann::json> steps;   // step -> rank 0's step record
  std::string job_text, job_path;
  PlantedFault fault;

  // The recorded state chain after `step`; UsageError naming the file when missing.
  verify::Hash256 chainAt(int64_t step) const;
  // The checkpoint root at a checkpoint step, the recorded state chain elsewhere (the on-chain
  // game's position hashes).
  verify::Hash256 hashAfter(int64_t step) const;
  // The job, placed on this one process (UsageError for tp > 1 runs).
  jobs::JobSpec spec() const;
};
DisputeParty openDisputeParty(const std::string& name, const std::string& run_dir);

// A party's re-execution of steps from+1..step from its checkpoint `from`, on `self` (one
// process), with the operators of `step` traced and the state chain of every step.
struct StepReexecution {
  OperatorTrace trace;
  std::vector<verify::Hash256> prefix;  // trace.prefixChain(), computed once
  std::map<int64_t, std::string> chain;
};
StepReexecution reexecuteStep(const DisputeParty& p, const jobs::JobSpec& spec, int64_t from,
                              int64_t step, const std::string& work_dir,
                              collectives::Communicator& self);

// Plays the dispute between RUN_A and RUN_B. `work_dir` receives the re-executions and
// claims.jsonl (one JSON message per claim and the verdict). `self` must be a one-process
// communicator. Throws UsageError for runs that cannot be compared (different jobs, missing
// checkpoints or hashes).
DisputeOutcome runDispute(const std::string& run_a, const std::string& run_b,
                          const std::string& work_dir, collectives::Communicator& self);

}  // namespace mlcp::runtime
