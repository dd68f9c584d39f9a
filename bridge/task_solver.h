// SolverTask: the solver's side of one MlcpMarket task (docs/bridge-protocol.md part 2, steps
// 2-4 and 9), and the rule for serving checkpoint states. Its secret seed lives in a state file
// (mode 0600, written durably before anything depends on it), shared by the processes that act
// for the solver: `mlcp bridge task accept`, `mlcp run` (which commits the roots) and
// `mlcp solver serve`.
//
//  1. accept(): pick a random 32-byte seed, save it, then acceptTask(task,
//     seedCommitment(task, solver, seed)) with the stake (block b). A job without forced errors
//     needs no seed (the commitment is zero). A task this key already holds is not accepted again.
//  2. anchor(): once block b+2 exists (at most 256 blocks later: clients anchor at once), make
//     sure anchorSeed fixed anchor = blockhash(b+1) (anyone may have sent it), and compute the
//     forced checkpoint j = forcedCheckpointOf(seed, anchor, rate, N) (0: none). Saved.
//  3. rootToCommit(k, trueRoot): the root the solver signs for checkpoint k of the task: for
//     k = j the forced root (trueRoot saved first, for the reveal), else trueRoot. The solver
//     keeps training from its true state.
//  4. revealIfDue(): in (T2, T3], revealSeed(seed, anchor, trueRoot_j) (anyone may send it; a
//     solver that misses it is timed out after T3 and loses its stake).
// Serving: a verifier gets the input state of each of its sampled checkpoints (state k-1 for
// sample k), after the task's final root, and only by proving its sample (provenSample: its
// secret must hash to its on-chain sample commitment and anchor); with m = 1 it never sees the
// state of a checkpoint it checks, so it cannot learn which root is forced without replaying.
// Once the seed is revealed (or, without forced errors, after T1) states are public
// (statesPublic).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bridge/checkers_client.h"
#include "bridge/market_client.h"

namespace mlcp::bridge {

// Where a solver key's task state files live: KEYFILE.tasks/<market>-task-<id>.json.
std::string solverStatePath(const std::string& key_file, const Address& market, const U256& task);

struct SolverTaskState {
  uint64_t chain_id = 0;
  Address market{}, solver{};
  U256 task;
  uint32_t task_index = 0;            // t (1..numTasks), from the chain at acceptance
  uint32_t checkpoints = 0;           // N of the task
  uint32_t steps_per_checkpoint = 0;  // S
  Hash32 seed{};                      // zero: the job has no forced errors
  bool anchored = false;
  Hash32 anchor{};
  uint64_t forced_checkpoint = 0;  // j, known once anchored (0: none)
  Hash32 true_root{};              // root j as trained, once committed
  bool has_true_root = false;
};

// The state file at `path`, when it exists (UsageError when it is not one).
std::optional<SolverTaskState> loadSolverTaskState(const std::string& path);
// Step 3 on a state file alone (an offline run has no node to ask): the root to sign for
// checkpoint k; for k = j the forced root, after saving `true_root` in the file.
Hash32 rootToCommit(SolverTaskState& state, const std::string& path, uint64_t k,
                    const Hash32& true_root);

class SolverTask {
 public:
  // Loads `state_path` when it exists (it must be of this market, task and key).
  SolverTask(MarketClient& market, EthKey solver, U256 task, std::string state_path);

  const SolverTaskState& state() const { return state_; }
  const U256& task() const { return task_; }

  Receipt accept();                   // 1
  uint64_t anchor(double timeout_s);  // 2: returns j; TimeoutError past the deadline
  Hash32 rootToCommit(uint64_t k, const Hash32& true_root);  // 3
  std::optional<Receipt> revealIfDue();  // 4: nullopt when not due (or already revealed)

  // The checkpoints (1..N) whose input states verifier `proof` may get, once the task's final
  // root is on chain; throws VerificationError when the proof does not match the chain.
  std::vector<uint64_t> provenSample(uint64_t slot, const Address& verifier, const Hash32& secret);
  // States may be given to anyone: the seed is revealed (or, without a seed, T1 passed).
  bool statesPublic();

 private:
  void save() const;

  MarketClient& market_;
  EthKey key_;
  U256 task_;
  std::string path_;
  SolverTaskState state_;
};

}  // namespace mlcp::bridge
