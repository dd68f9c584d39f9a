// StateExchange: how the parties of a market task hand each other what is too big for the chain
// — checkpoint states and referees' signatures — through a folder all of them can reach (a
// shared or synchronised file system; the chain only ever holds roots and hashes, which is what
// makes any of this checkable). Every write is atomic (a file or a whole folder appears complete
// or not at all), so readers poll without locks.
//
//   ROOT/requests/task-<id>/slot-<s>.json       a verifier's sample proof (task, slot, account,
//                                               secret), written once its verdicts are fixed by
//                                               the chain's anchor; the solver checks it on chain
//   ROOT/served/task-<id>/slot-<s>/checkpoints/ the input states of that verifier's sample, copied
//                                               there by the solver (a run folder's layout)
//   ROOT/public/task-<id>/checkpoints/          every checkpoint of the task, published by the
//                                               solver once its seed is revealed (the next task's
//                                               solver, challengers and referees start there)
//   ROOT/verdicts/task-<id>/dispute-<d>/<signer>.json
//                                               referees' signed verdicts, collected by a relayer
//
// Protocol rules (who may read what, and when) are the solver's and verifier's (task_solver.h,
// task_verifier.h); this class only moves files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bridge/bytes.h"
#include "bridge/u256.h"
#include "bridge/verdict.h"

namespace mlcp::bridge {

struct SampleProof {
  U256 task;
  uint64_t slot = 0;
  Address verifier{};
  Hash32 secret{};
};

class StateExchange {
 public:
  explicit StateExchange(std::string root);
  const std::string& root() const { return root_; }

  void postRequest(const SampleProof& proof);
  std::vector<SampleProof> requests(const U256& task) const;

  std::string servedDir(const U256& task, uint64_t slot) const;
  std::string publicDir(const U256& task) const;
  // Copies folder `from` to `to` atomically (into a temporary sibling, then one rename); an
  // existing `to` is left as it is (the first complete copy wins). Returns false when `to`
  // already existed.
  static bool publishFolder(const std::string& from, const std::string& to);

  void postVerdict(const SignedVerdict& v);
  // The signed verdicts posted for (task, dispute) whose signatures check out (others skipped).
  std::vector<SignedVerdict> verdicts(const U256& task, const U256& dispute) const;

 private:
  std::string taskDir(const char* kind, const U256& task) const;
  std::string root_;
};

}  // namespace mlcp::bridge
