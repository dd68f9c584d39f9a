#include "bridge/journaled_sender.h"

#include <fmt/format.h>

#include <cmath>
#include <map>

#include "base/error.h"

namespace mlcp::bridge {

JournaledSender::JournaledSender(ChainClient& chain, std::string journal_path,
                                 double receipt_timeout_s)
    : chain_(chain), path_(std::move(journal_path)), receipt_timeout_s_(receipt_timeout_s) {}

TxSender JournaledSender::sender() {
  return [this](const EthKey& key, const CallRequest& call, const std::string& label) {
    return send(key, call, label);
  };
}

Receipt JournaledSender::send(const EthKey& key, const CallRequest& call,
                              const std::string& label) {
  Outbox journal(path_);
  // 1.
  std::map<std::string, Hash32> unsent;
  for (const OutboxEntry& e : journal.entries()) {
    if (!e.sent) unsent[e.label] = e.tx.hash;
  }
  // 2.
  FlushOptions fo;
  fo.receipt_timeout_s = receipt_timeout_s_;
  if (!unsent.empty()) journal.flush(chain_, fo);
  // 3.
  if (auto it = unsent.find(label); it != unsent.end()) {
    return chain_.waitForReceipt(it->second, receipt_timeout_s_, true);
  }
  // 4.
  CallRequest req = call;
  req.from = key.address();
  const uint64_t estimate = chain_.estimateGas(req);
  const Fees fees = chain_.suggestFees();
  OutboxTxParams p;
  p.chain_id = chain_.chainId();
  p.to = req.to;
  p.value = req.value;
  p.data = req.data;
  p.gas_limit = static_cast<uint64_t>(std::ceil(static_cast<double>(estimate) * 1.25));
  p.max_fee_per_gas = fees.max_fee_per_gas;
  p.max_priority_fee_per_gas = fees.max_priority_fee_per_gas;
  const uint64_t pending = chain_.transactionCount(key.address(), "pending");
  if (journal.nextNonce(key.address(), p.chain_id) < pending) {
    journal.setNextNonce(key.address(), p.chain_id, pending);
  }
  const OutboxEntry e = journal.queue(key, p, label);
  ++signed_;
  journal.flush(chain_, fo);
  return chain_.waitForReceipt(e.tx.hash, receipt_timeout_s_, true);
}

}  // namespace mlcp::bridge
