// MarketClient: MlcpMarket (bridge/contracts/MlcpMarket.sol; docs/bridge-protocol.md part 2) as
// typed C++ calls — market jobs priced by the work and split into tasks, solver seeds and forced
// errors, referee committees — over a ChainClient. Each task is a job of the game: its commits,
// challenges, dispute moves, verdicts, settle and withdraw go through jobs() (a JobsClient on the
// same address, the same ABI). The verifiers' side is CheckersClient (checkers_client.h) on
// checkersAddress().
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bridge/chain_client.h"
#include "bridge/jobs_client.h"

namespace mlcp::bridge {

// MlcpMarket.JobSpec: what a market job is. Amounts in wei, times in seconds.
struct MarketJobSpec {
  Hash32 spec_hash{};
  Hash32 initial_root{};  // root of checkpoint 0 of task 1
  uint32_t num_tasks = 1;
  uint32_t checkpoints_per_task = 1;  // N
  uint32_t steps_per_checkpoint = 1;  // S
  uint64_t units_per_checkpoint = 1;  // the work of one interval, in the job's unit (GFLOP)
  U256 price_per_unit;                // wei per unit
  uint32_t commit_timeout_s = 3600;
  uint32_t challenge_window_s = 7200;  // > verdict window + 2 x phase window
  uint32_t move_timeout_s = 600;
  uint32_t verdict_window_s = 1800;  // final root .. T1
  uint32_t phase_window_s = 600;     // (T1, T2] verdict reveals, (T2, T3] the seed reveal
  uint32_t committee = 0;            // createCommittee id; 0: `referee` alone
  Address referee{};

  U256 intervalPrice() const { return U256(units_per_checkpoint) * price_per_unit; }  // p
  U256 taskPayment() const { return intervalPrice() * U256(checkpoints_per_task); }   // P
};

// MlcpMarket.Economics: the incentives of every task of a job (defaultEconomics gives them).
struct Economics {
  U256 stake, bond, verifier_fee, verifier_deposit, jackpot;
  uint16_t forced_rate_bps = 0;
  uint8_t max_verifiers = 1;
  uint8_t samples_per_verifier = 1;

  U256 budget() const { return U256(max_verifiers) * verifier_fee + jackpot; }  // per task
};

// createMarketJob's value: num_tasks x (P + budget).
U256 marketEscrow(const MarketJobSpec& spec, const Economics& econ);

struct GroupInfo {  // groups(firstTask)
  U256 first_task;
  uint32_t num_tasks = 0, verdict_window_s = 0, phase_window_s = 0, committee = 0;
  uint16_t forced_rate_bps = 0;
  U256 price_per_unit;
  uint64_t units_per_checkpoint = 0;
};

struct TaskInfo {      // tasks(id)
  U256 group;          // the job's first task id (0: not a market task)
  uint32_t index = 0;  // 1..numTasks
  uint64_t accept_block = 0;
  uint32_t forced_checkpoint = 0, failed_checkpoint = 0;
  uint8_t flags = 0;
  Hash32 seed_transcript{};

  bool isMarketTask() const { return !group.isZero(); }
  bool seedRequired() const { return (flags & 1) != 0; }
  bool seedAnchored() const { return (flags & 2) != 0; }
  bool seedRevealed() const { return (flags & 4) != 0; }
};

// A committed task's verification phases (zeros before its final root): verifiers commit
// verdicts until t1, reveal in (t1, t2], the solver reveals its seed in (t2, t3].
struct TaskPhases {
  JobState state = JobState::kNone;
  uint64_t t1 = 0, t2 = 0, t3 = 0;
  bool committed() const { return t1 != 0; }
};

struct Committee {
  uint32_t threshold = 0;
  std::vector<Address> members;
};

class MarketClient {
 public:
  MarketClient(ChainClient& chain, const Address& market);
  // Deploys MlcpMarket (the embedded build; its constructor creates MlcpCheckers).
  static MarketClient deploy(ChainClient& chain, const EthKey& key, Receipt* receipt = nullptr);

  const Address& address() const { return market_; }
  ChainClient& chain() { return chain_; }
  // The game's calls on this market's tasks (commit, challenge, moves, resolve, settle, ...).
  JobsClient& jobs() { return jobs_; }
  Address checkersAddress();
  // Every later transaction of this client (and of jobs()) goes out through `sender`.
  void setSender(TxSender sender);

  // Views.
  Economics defaultEconomics(const MarketJobSpec& spec);
  GroupInfo group(const U256& first_task);
  TaskInfo task(const U256& task_id);
  TaskPhases phases(const U256& task_id);
  Committee committee(uint32_t id);
  uint64_t forcedCheckpointOf(const Hash32& seed, const Hash32& anchor, uint64_t rate_bps,
                              uint64_t n);
  Hash32 forcedRoot(const U256& task_id, uint64_t k, const Hash32& true_root, const Hash32& seed);
  // The seed's anchor once fixed (from the task's SeedAnchored log); nullopt before.
  std::optional<Hash32> seedAnchor(const U256& task_id);
  // The first task id of every market job created on this market (MarketJobCreated logs).
  std::vector<U256> marketJobs();

  // Moves; each returns the mined receipt.
  U256 createMarketJob(const EthKey& submitter, const MarketJobSpec& spec, const Economics& econ,
                       Receipt* receipt = nullptr);  // the first task id
  uint32_t createCommittee(const EthKey& sender, const std::vector<Address>& members,
                           uint32_t threshold, Receipt* receipt = nullptr);
  // Posts the task's stake; `seed_commitment` is required when the job has forced errors
  // (market_randomness.h seedCommitment), else may be zero.
  Receipt acceptTask(const EthKey& solver, const U256& task_id, const Hash32& seed_commitment);
  Receipt anchorSeed(const EthKey& sender, const U256& task_id);
  Receipt revealSeed(const EthKey& sender, const U256& task_id, const Hash32& seed,
                     const Hash32& anchor, const Hash32& true_root);
  Receipt voidTask(const EthKey& sender, const U256& task_id);

 private:
  Receipt send(const EthKey& key, const std::string& fn, const std::vector<abi::Value>& args,
               const U256& value = U256(0));
  std::vector<abi::Value> view(const std::string& fn, const std::vector<abi::Value>& args);

  ChainClient& chain_;
  Address market_;
  JobsClient jobs_;
  TxSender sender_;
  std::optional<Address> checkers_;
};

}  // namespace mlcp::bridge
