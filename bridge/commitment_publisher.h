// CommitmentPublisher: what the runtime calls on rank 0 each time a checkpoint is written.
// `publish(job, index, root)` signs the commitment (commitment.h) with the solver's key and puts
// it on its way to the chain, by one of three routes chosen by the configuration:
//
//   rpc_url   outbox_path   route
//   set       empty         send commitCheckpoint now, await the receipt (reverts throw,
//                           named: "WrongIndex(expected=2)")
//   empty     set           queue the signed transaction in the outbox (offline; `mlcp bridge
//                           flush --rpc URL` sends it later from a gateway)
//   set       set           queue in the outbox, then flush it at once; when the node cannot be
//                           reached the commitment stays queued (result.route = kQueued) and the
//                           next publish or flush sends it — the outbox is the durable journal
//
// Offline, nothing can be asked of the chain, so the chain id, the contract address and the gas
// limit come from the configuration (commitCheckpoint measured about 64k gas; the default limit
// leaves room). The nonce comes from the outbox (see outbox.h). Online, the gas is estimated
// (which also refuses a commitment the contract would reject, before it is queued) and the
// outbox's nonce floor is raised to the chain's count for the key.
//
// Idempotent: publishing (job, index) again with the same root sends nothing — when the chain
// already holds it (`note` = "already on chain") or the outbox already holds it ("already
// queued"; a different root for a queued index is refused with VerificationError). A resumed
// run may therefore publish its last checkpoint again safely.
//
// Not thread-safe: one publisher per process (rank 0), called from one thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "bridge/chain_client.h"
#include "bridge/commitment.h"
#include "bridge/outbox.h"

namespace mlcp::bridge {

struct PublisherConfig {
  std::string rpc_url;      // "" = no node
  std::string outbox_path;  // "" = no outbox
  Address contract{};       // the MlcpJobs deployment
  uint64_t chain_id = 0;    // required offline; checked against the node online
  uint64_t commit_gas_limit = 120000;
  U256 max_fee_per_gas = U256(50000000000ULL);
  U256 max_priority_fee_per_gas = U256(1000000000ULL);
  double receipt_timeout_s = 60.0;
  RpcOptions rpc;
};

struct PublishResult {
  enum class Route { kSent, kQueued };
  Route route = Route::kQueued;
  SignedCommitment commitment;
  Hash32 tx_hash{};                // of the signed commitCheckpoint transaction
  std::optional<Receipt> receipt;  // when sent (and mined)
  std::string note;                // why it stayed queued, when it did
};

class CommitmentPublisher {
 public:
  // Throws UsageError on a configuration that names no route, or lacks the chain id offline.
  CommitmentPublisher(PublisherConfig config, EthKey solver_key);

  PublishResult publish(const U256& job_id, uint64_t checkpoint_index, const Hash32& root);

  const PublisherConfig& config() const { return config_; }

 private:
  PublishResult publishOnce(const U256& job_id, uint64_t checkpoint_index, const Hash32& root,
                            bool use_node, const std::string& unreachable);

  PublisherConfig config_;
  EthKey key_;
  uint64_t node_chain_id_ = 0;  // the node's chain id, once it answered
  std::unique_ptr<ChainClient> chain_;
  std::unique_ptr<Outbox> outbox_;
};

}  // namespace mlcp::bridge
