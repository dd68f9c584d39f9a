#include "bridge/commitment_publisher.h"

#include <fmt/format.h>

#include <cmath>

#include "bridge/contract_artifacts.h"

namespace mlcp::bridge {

CommitmentPublisher::CommitmentPublisher(PublisherConfig config, EthKey solver_key)
    : config_(std::move(config)), key_(std::move(solver_key)) {
  if (config_.rpc_url.empty() && config_.outbox_path.empty()) {
    throw UsageError("the bridge needs an RPC URL or an outbox file to publish commitments to");
  }
  if (config_.contract == Address{})
    throw UsageError("the bridge needs the MlcpJobs contract address");
  if (config_.rpc_url.empty() && config_.chain_id == 0) {
    throw UsageError(
        "an offline bridge (outbox only) needs the chain id: signatures are bound to it");
  }
  if (!config_.rpc_url.empty()) {
    chain_ = std::make_unique<ChainClient>(config_.rpc_url, config_.rpc);
    chain_->addErrorAbi(mlcpJobsAbi(), "MlcpJobs");
  }
  if (!config_.outbox_path.empty()) outbox_ = std::make_unique<Outbox>(config_.outbox_path, true);
}

PublishResult CommitmentPublisher::publish(const U256& job_id, uint64_t checkpoint_index,
                                           const Hash32& root) {
  if (chain_ && outbox_) {
    // The node may go away at any call: then the commitment is queued (or found queued).
    try {
      return publishOnce(job_id, checkpoint_index, root, true, "");
    } catch (const RpcUnreachable& e) {
      return publishOnce(job_id, checkpoint_index, root, false, e.what());
    }
  }
  return publishOnce(job_id, checkpoint_index, root, chain_ != nullptr, "");
}

PublishResult CommitmentPublisher::publishOnce(const U256& job_id, uint64_t checkpoint_index,
                                               const Hash32& root, bool use_node,
                                               const std::string& unreachable) {
  PublishResult res;
  res.note = unreachable;
  // The chain id: configured, or asked of the node (and then checked against the configuration).
  const bool reachable = use_node;
  uint64_t chain_id = config_.chain_id;
  if (use_node) {
    uint64_t node_chain = chain_->chainId();
    if (chain_id != 0 && node_chain != chain_id) {
      throw UsageError(
          fmt::format("the node at {} is chain {}, but the bridge is configured for chain {}",
                      chain_->url(), node_chain, chain_id));
    }
    chain_id = node_chain;
    node_chain_id_ = node_chain;
  } else if (chain_id == 0) {
    chain_id = node_chain_id_;  // learnt from the node while it was reachable
    if (chain_id == 0) {
      throw UsageError(fmt::format(
          "{}; and without bridge.chain_id configured the commitment cannot be signed offline",
          unreachable));
    }
  }
  Commitment c{chain_id, config_.contract, job_id, checkpoint_index, root};
  res.commitment = signCommitment(c, key_);
  Bytes calldata = commitCheckpointCalldata(res.commitment);
  const std::string label =
      fmt::format("commit job {} checkpoint {}", job_id.toDecimal(), checkpoint_index);

  // Idempotent: a commitment already on its way (a resumed run publishing its last checkpoint
  // again) is not sent twice. On chain: roots(job, index) already holds this root.
  if (reachable) {
    CallRequest view;
    view.to = config_.contract;
    view.data = mlcpJobsAbi().encodeCall(
        "roots", {abi::Value::uint(job_id), abi::Value::uint(U256(checkpoint_index))});
    if (mlcpJobsAbi().decodeReturn("roots", chain_->call(view))[0].asBytes32() == root) {
      res.route = PublishResult::Route::kSent;
      res.note = "already on chain";
      return res;
    }
  }
  // In the outbox: a queued commitment of the same job and index.
  std::optional<OutboxEntry> existing;
  if (outbox_) {
    outbox_->reload();
    for (const OutboxEntry& e : outbox_->entries()) {
      const nlohmann::json& pl = e.payload;
      if (!pl.is_object() || pl.value("type", "") != "checkpoint-commitment") continue;
      if (pl.value("contract", "") != checksumAddress(config_.contract) ||
          pl.value("chain_id", uint64_t{0}) != chain_id ||
          pl.value("job_id", "") != job_id.toDecimal() ||
          pl.value("index", uint64_t{0}) != checkpoint_index) {
        continue;
      }
      if (pl.value("root", "") != toHex(root)) {
        throw VerificationError(fmt::format(
            "outbox {} record {} already holds root {} for job {} checkpoint {}, not {}",
            outbox_->path(), e.seq, pl.value("root", ""), job_id.toDecimal(), checkpoint_index,
            toHex(root)));
      }
      existing = e;
    }
  }

  if (!outbox_) {  // direct
    CallRequest req;
    req.to = config_.contract;
    req.data = calldata;
    TxOptions opts;
    opts.receipt_timeout_s = config_.receipt_timeout_s;
    res.receipt = chain_->transact(key_, req, opts);
    res.tx_hash = res.receipt->tx_hash;
    res.route = PublishResult::Route::kSent;
    return res;
  }

  OutboxTxParams p;
  p.chain_id = chain_id;
  p.to = config_.contract;
  p.data = calldata;
  p.gas_limit = config_.commit_gas_limit;
  p.max_fee_per_gas = config_.max_fee_per_gas;
  p.max_priority_fee_per_gas = config_.max_priority_fee_per_gas;
  if (existing) {
    res.note = "already queued";
  } else if (reachable) {
    // Online: the chain's nonce is the floor (unless the outbox still holds unsent ones of this
    // key, whose nonces come first), and the estimate refuses a doomed commitment early. Gas
    // can only be estimated when nothing of this key is queued ahead (it would run against the
    // state before those).
    outbox_->reload();
    bool queued_ahead = false;
    for (const OutboxEntry& e : outbox_->entries())
      queued_ahead |= !e.sent && e.tx.from == key_.address();
    if (!queued_ahead) {
      uint64_t count = chain_->transactionCount(key_.address(), "pending");
      if (outbox_->nextNonce(key_.address(), chain_id) < count)
        outbox_->setNextNonce(key_.address(), chain_id, count);
      CallRequest req;
      req.from = key_.address();
      req.to = config_.contract;
      req.data = calldata;
      p.gas_limit =
          static_cast<uint64_t>(std::ceil(static_cast<double>(chain_->estimateGas(req)) * 1.25));
      Fees f = chain_->suggestFees();
      p.max_fee_per_gas = std::max(f.max_fee_per_gas, config_.max_fee_per_gas);
      p.max_priority_fee_per_gas = f.max_priority_fee_per_gas;
    }
  }
  OutboxEntry e = existing ? *existing : outbox_->queue(key_, p, label, res.commitment.toJson());
  res.tx_hash = e.tx.hash;
  res.route = e.sent ? PublishResult::Route::kSent : PublishResult::Route::kQueued;
  if (!reachable) return res;
  try {
    FlushOptions fo;
    fo.receipt_timeout_s = config_.receipt_timeout_s;
    outbox_->flush(*chain_, fo);
  } catch (const RpcUnreachable& ex) {
    res.note = ex.what();
    return res;
  }
  // Mined by the flush above; a revert throws RevertError with the contract's error name.
  res.receipt = chain_->waitForReceipt(e.tx.hash, config_.receipt_timeout_s, true);
  res.route = PublishResult::Route::kSent;
  return res;
}

}  // namespace mlcp::bridge
