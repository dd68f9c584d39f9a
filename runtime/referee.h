// The referee of the dispute protocol (docs/verification.md, "Dispute", step 6): recomputes one
// operator of one training step from the outputs of the operators before it — which both
// parties agree on — and so says whose claimed output is right.
//
// It rebuilds what the job's spec alone determines (data, model structure, optimizer kind,
// schedule, thread count) and takes every tensor input from the agreed prefix of a trace
// (runtime/operator_trace.h): the state before the step, the activations, the generator
// states, the gradients. It never trusts a party's output of the operator in question.
#pragma once

#include <memory>
#include <vector>

#include "collectives/communicator.h"
#include "jobs/job_spec.h"
#include "runtime/operator_trace.h"

namespace mlcp::runtime {

class Referee {
 public:
  // `self` is a communicator of one process (the exact reduction runs on it).
  Referee(const jobs::JobSpec& spec, collectives::Communicator& self);
  ~Referee();
  Referee(const Referee&) = delete;
  Referee& operator=(const Referee&) = delete;

  // Recomputes operator `index` of `agreed`, whose operators 0..index-1 both parties agree on.
  // Throws VerificationError when the operator is `state` (the step's input itself is in
  // dispute: nothing to recompute) or an input is missing from the prefix.
  std::vector<NamedTensor> recompute(const OperatorTrace& agreed, size_t index);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace mlcp::runtime
