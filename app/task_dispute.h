// A market task's dispute, played from run folders (issue #17): the hashes a party claims in the
// on-chain bisection (bridge/dispute_player.h) — from the solver's run, or from a verifier's
// replay of one interval — and the referee's verdict on the operator the game ends at. The
// runtime's dispute machinery (runtime/dispute.h: recorded state chains, re-executed steps with
// their operator traces; runtime/referee.h) does the work; this adds the task's offset: the
// game counts steps within the task, a run counts them from the job's start, and task t starts
// at global step (t-1)·N·S.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "bridge/dispute_player.h"
#include "bridge/jobs_client.h"
#include "collectives/communicator.h"
#include "runtime/dispute.h"

namespace mlcp::app {

// One party's hashes from its run folder. `task_start` is the global step of the task's
// checkpoint 0, `every` its steps per checkpoint. Re-executions (one per disputed step) go to
// `work_dir` and are kept. `self` is a one-process communicator that outlives this object.
class RunHashes {
 public:
  RunHashes(const std::string& name, const std::string& run_dir, int64_t task_start, int64_t every,
            std::string work_dir, collectives::Communicator& self);
  // Borrows this object.
  bridge::PartyHashes hashes();
  const runtime::DisputeParty& party() const { return party_; }

 private:
  const runtime::StepReexecution& reexecution(int64_t global_step);

  runtime::DisputeParty party_;
  jobs::JobSpec spec_;
  int64_t start_, every_;
  std::string work_dir_;
  collectives::Communicator& self_;
  std::map<int64_t, runtime::StepReexecution> cache_;
};

struct RefereeFinding {
  bool solver_correct = false;
  std::string description;  // "step 6, operator 7 of 40: mb2/forward/1 (...)"
};

// The referee's verdict on dispute `d` of a task starting at global step `task_start`: re-executes
// the disputed step honestly from the agreed checkpoint (`agreed_checkpoint_dir`, at global step
// `agreed_step` = the start of interval d.checkpoint), recomputes the disputed operator from the
// agreed inputs (runtime::Referee) and says whether the solver's claimed output is right.
// nullopt when the game ended where no single operator can be recomputed (the parties agree on
// every operator but not on the step's output).
std::optional<RefereeFinding> refereeFinding(const bridge::DisputeInfo& d,
                                             const std::string& agreed_checkpoint_dir,
                                             int64_t agreed_step, int64_t task_start,
                                             const std::string& work_dir,
                                             collectives::Communicator& self);

}  // namespace mlcp::app
