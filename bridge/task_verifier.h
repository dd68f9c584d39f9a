// VerifierTask: the verifier's side of one MlcpMarket task (docs/bridge-protocol.md part 2,
// steps 5-8 and 10), advanced by a watch loop (`mlcp verifier watch`) one due action at a time.
// What only the caller can do — fetch a checkpoint state and replay an interval, compute the
// hashes of a dispute, collect referees' signatures — comes in through VerifierHooks; the
// protocol is here. Every decision is taken from the chain's state read at that moment and
// the task's state file (mode 0600: it holds the sample secret), so a restarted process carries
// on where it stopped, and with a JournaledSender no action is sent twice.
//
// advance(), in numbered steps (the first that applies):
//  1. Register: the task is Accepted (or Committed before T1) with a free slot: pick a secret,
//     save it, registerVerifier(sampleCommitment) with the deposit (block r).
//  2. Anchor: once block r+2 exists, anchorSample (fixes blockhash(r+1); within 256 blocks, or
//     the deposit is lost). The sample is then sampleOf(sampleSeed(secret, anchor), N, m).
//  3. Replay: once all roots are committed, replay each sampled interval k from its input state
//     (hooks.replay; the solver serves it to the proven sample) — or, for a lazy verifier
//     (replay = false), approve without replaying. Flag bit i = the replayed root differs from
//     roots(task, k_i). Saved.
//  4. Commit the verdicts before T1: commitVerdicts(verdictsCommitment(flags, secret)).
//  5. Reveal them in (T1, T2]: revealVerdicts(secret, anchor, flags).
//  6. Challenge: after T2 (and the seed reveal, when the job has forced errors), the first
//     flagged checkpoint that was not the forced one, with this verifier's root, posting the
//     bond — once per task.
//  7. Dispute: while its challenge is open, make this party's bisection move when due
//     (DisputePlayer, from hooks.dispute_hashes); in the Verdict phase relay the committee's
//     signatures (hooks.verdicts) with resolveSigned once k of them agree.
//  8. Once the task ended (settled, failed, voided): withdraw what MlcpCheckers and MlcpMarket
//     owe this account. Then the task is done.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bridge/checkers_client.h"
#include "bridge/dispute_player.h"
#include "bridge/market_client.h"
#include "bridge/state_exchange.h"
#include "bridge/verdict.h"

namespace mlcp::bridge {

struct VerifierHooks {
  // Replays interval k (1..N) of the task from its input state (checkpoint k-1) and returns the
  // root it computes; nullopt while the input is not available yet (asked again later). The
  // proof is what the solver checks before serving the input.
  std::function<std::optional<Hash32>(const U256& task, uint64_t k, const SampleProof& proof)>
      replay;
  // This verifier's hashes for a dispute over checkpoint k of the task.
  std::function<PartyHashes(const U256& task, uint64_t k)> dispute_hashes;
  // Referees' signed verdicts posted for (task, dispute id).
  std::function<std::vector<SignedVerdict>(const U256& task, const U256& dispute)> verdicts;
  std::function<void(const std::string&)> log;
};

struct VerifierOptions {
  bool replay =
      true;  // false: approve every sampled root without replaying (tests: a lazy checker)
};

struct VerifierTaskState {
  U256 task;
  Hash32 secret{};
  int64_t slot = -1;  // -1: not registered
  std::vector<uint64_t> sample;
  std::vector<Hash32> roots;  // this verifier's root of each sampled checkpoint (replayed ones)
  uint32_t replayed = 0;      // how many of the sample have their root
  bool flags_final = false;
  uint8_t flags = 0;
  bool challenged = false;
  uint64_t challenged_checkpoint = 0;
  bool skipped = false;  // never registered (no slot, too late)
  std::string note;      // why, when skipped
};

class VerifierTask {
 public:
  enum class Progress { kWaiting, kActed, kDone };

  VerifierTask(MarketClient& market, CheckersClient& checkers, EthKey key, U256 task,
               std::string state_path, VerifierHooks hooks, VerifierOptions options = {});

  // Does the first due action of the steps above, if any.
  Progress advance();
  const VerifierTaskState& state() const { return state_; }

 private:
  void save() const;
  void log(const std::string& line) const;
  // Whether `slot`'s transcript is this verifier's commitment (registered, or anchored since).
  bool holdsSecret(uint64_t slot);
  Progress replayAndCommit(const JobInfo& job, const TaskPhases& phases, uint64_t now);
  Progress afterReveal(const JobInfo& job, const TaskInfo& task, const TaskPhases& phases,
                       uint64_t now);
  Progress withdrawAll();

  MarketClient& market_;
  CheckersClient& checkers_;
  EthKey key_;
  U256 task_;
  std::string path_;
  VerifierHooks hooks_;
  VerifierOptions options_;
  VerifierTaskState state_;
};

}  // namespace mlcp::bridge
