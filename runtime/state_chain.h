// The per-step state hash chain (docs/checkpoint-format.md, "State chain"), on bytes:
//
//   h_i      = the tensor hash (verify/hash.h) of parameter i in the logical layout
//   digest_s = BLAKE2b-256(h_0 || h_1 || ... || h_{n-1}), the 32-byte hashes in parameter (name)
//              order, of the parameters after step s (s = 0: the initial state)
//   c_0      = digest_0,    c_s = verify::chainHash(c_{s-1}, digest_s) = BLAKE2b-256(c_{s-1} ||
//   digest_s)
//
// A run records digest_s ("state_hash") and c_s ("state_chain") in rank 0's step metrics and
// stores c_s in every checkpoint ("train/state_chain"), so a replay names the first step whose
// state differs and a dispute bisects over steps: agreeing on c_s is agreeing on every state up
// to step s.
//
// Computing a digest, as numbered steps (every rank of the world):
//  1. begin(): each rank hashes the parameters it owns (ModelState::hashSources) on this object's
//     worker thread, while the caller goes on with the next step's forward and backward — which
//     only read the parameters. Nothing may change them until step 2.
//  2. finish(): joins the worker, gathers every rank's hashes (collective) and combines them in
//     parameter order on every rank; extends the chain.
#pragma once

#include <cstdint>
#include <future>
#include <string>
#include <vector>

#include "base/background_worker.h"
#include "collectives/communicator.h"
#include "runtime/model_state.h"
#include "verify/hash.h"

namespace mlcp::runtime {

// digest_s from the parameter hashes in parameter order.
verify::Hash256 stateDigest(const std::vector<verify::Hash256>& parameter_hashes);

class StateChain {
 public:
  // `state` and `world` are borrowed.
  StateChain(ModelState& state, collectives::Communicator& world,
             collectives::CollectiveOptions opts);
  ~StateChain();  // joins a digest still being computed
  StateChain(const StateChain&) = delete;
  StateChain& operator=(const StateChain&) = delete;

  // Collective: c_0 = the digest of the current (initial) state; returns it.
  const verify::Hash256& startFromCurrentState();
  // Continues a chain stored in a checkpoint.
  void continueFrom(const verify::Hash256& head) { head_ = head; }
  const verify::Hash256& head() const { return head_; }

  // Step 1 above.
  void begin();
  bool inFlight() const { return in_flight_; }
  struct Link {
    verify::Hash256 digest;  // digest_s
    verify::Hash256 chain;   // c_s
  };
  // Step 2 above (collective); the chain's head becomes c_s.
  Link finish();

 private:
  // This rank's parameter hashes by parameter index (zero hashes where another rank owns it).
  static std::vector<verify::Hash256> hashOwned(const std::vector<torch::Tensor>& sources);
  verify::Hash256 combine(const std::vector<verify::Hash256>& mine);

  ModelState& state_;
  collectives::Communicator& world_;
  collectives::CollectiveOptions opts_;
  verify::Hash256 head_;
  bool in_flight_ = false;
  std::future<std::vector<verify::Hash256>> local_;
  BackgroundWorker worker_;  // last: joins before the future it fulfils goes
};

}  // namespace mlcp::runtime
