// JournaledSender: how a long-running process (`mlcp verifier watch`, `mlcp solver serve`)
// sends its transactions so that no action is ever sent twice, whatever its chain node does —
// goes away mid-send, answers late, or comes back after the process restarted. Each transaction
// is signed once and journaled in an outbox file (outbox.h: hash-chained, fsynced, exactly-once
// flush) before it is handed to the node; an action is named by its label (actionLabel:
// contract, function and a hash of the call data, so a decision taken again from the same chain
// state has the same label).
//
// send(key, call, label), in numbered steps:
//  1. Reload the journal; note the labels of its unsent transactions.
//  2. Flush them, in order (the outbox's flush: a transaction already mined is only marked, one
//     unknown to the node is sent — the same signed bytes, never re-signed).
//  3. If `label` was among them, this action is already on chain: return its receipt.
//  4. Otherwise estimate the gas (x 1.25; a call that would revert throws RevertError here, and
//     nothing is journaled), sign at the journal's next nonce (raised to the node's pending
//     count), append, flush, return the receipt.
// A node that cannot be reached at any step throws RpcUnreachable (json_rpc.h retries with
// backoff first) and leaves the journal as it is: the caller retries later, re-reading the chain,
// and step 3 finds an action it decides again. A mined revert throws RevertError, named.
//
// The key must send only through this journal while the journal holds unsent transactions (the
// outbox is the nonce authority). One sender per process and key; not thread-safe.
#pragma once

#include <string>

#include "bridge/chain_client.h"
#include "bridge/jobs_client.h"
#include "bridge/outbox.h"

namespace mlcp::bridge {

class JournaledSender {
 public:
  JournaledSender(ChainClient& chain, std::string journal_path, double receipt_timeout_s = 60.0);

  Receipt send(const EthKey& key, const CallRequest& call, const std::string& label);
  // This sender as a TxSender for JobsClient, MarketClient and CheckersClient (borrowed).
  TxSender sender();

  const std::string& journalPath() const { return path_; }
  // Transactions signed and journaled by this process (not counting ones found in the journal).
  size_t signedCount() const { return signed_; }

 private:
  ChainClient& chain_;
  std::string path_;
  double receipt_timeout_s_;
  size_t signed_ = 0;
};

}  // namespace mlcp::bridge
