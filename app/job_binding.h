// A training job as the protocol chain knows it (issue #17, "Binding"): its spec hash, its
// initial root, and — for a run with a [bridge] section — the on-chain job or market task it must
// be, checked before any step is computed, and the checkpoint hook that commits its roots.
//
//   spec hash    = keccak256(specText): "mlcp.spec.v1", the logical program
//                  (runtime::programText: what changes a bit, placement left out), the operator
//                  set's version and the data's content hash (data::DataSplits::content_hash)
//   initial root = the Merkle root of the seed's state, checkpoint 0 (the same on any placement)
//
// A market task t of N checkpoints of S steps covers global steps (t-1)·N·S .. t·N·S: it starts
// from task t-1's final checkpoint (a run resumed from it), commits its roots as indices 1..N, and
// stops at t·N·S.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "bridge/bytes.h"
#include "jobs/job_spec.h"
#include "verify/hash.h"

namespace mlcp::app {

// A run's BLAKE2b-256 value (a root, a state hash) as the chain's bytes32.
bridge::Hash32 toHash32(const verify::Hash256& h);

std::string specText(const jobs::JobSpec& spec, const std::string& data_hash);
bridge::Hash32 specHash(const jobs::JobSpec& spec, const std::string& data_hash);

struct JobIdentity {
  std::string data_hash;
  bridge::Hash32 spec_hash{};
  bridge::Hash32 initial_root{};  // zero when not computed
  int64_t steps = 0;              // the job's steps (train.steps, or its epochs' steps)
};
// Builds the job on this one process (MPI must be initialised; nothing is trained): its data for
// the content hash, and with `with_root` the seed's state, written as checkpoint 0 in a
// temporary folder, for the initial root.
JobIdentity jobIdentity(const jobs::JobSpec& spec, bool with_root);

// The run's side of the chain (rank 0 only).
class BridgeRun {
 public:
  explicit BridgeRun(const jobs::JobSpec& spec);
  ~BridgeRun();

  // Reads the job (or market task) on chain and compares it with this run: "" when it may
  // start, else the one sentence why not (spec hash, steps per checkpoint, initial root, a task
  // this key has not accepted...). `start_checkpoint` is the checkpoint a resumed run starts
  // from. Sets *max_steps to the task's last step when the run would go beyond it. Offline
  // (no rpc_url) nothing can be read: "" with a note printed.
  std::string check(const std::string& start_checkpoint, int64_t* max_steps);
  // The checkpoint hook: checkpoint `step` is commitment (step - start)/S of the task; the seed's
  // forced checkpoint gets its forced root (bridge/task_solver.h).
  std::function<void(int64_t, const verify::Hash256&)> hook();

 private:
  struct State;
  std::shared_ptr<State> s_;
};

}  // namespace mlcp::app
