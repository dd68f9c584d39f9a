// The outbox: signed transactions queued in a local file where no chain is reachable (compute
// clusters usually have no internet), sent later from a gateway with `flush`, exactly once.
//
// File format: JSON lines, append-only and hash-chained. Line 1 is a header; every line carries
// "prev" = keccak256 of the previous line's bytes (without its newline), so a record cannot be
// altered, dropped or reordered without breaking the chain at the record after it.
//   {"outbox":"mlcp","version":1,"seq":0,"prev":"0x00..00","created":"<UTC>"}
//   {"seq":1,"prev":"0x..","kind":"tx","hash":"0x..","from":"0x..","chain_id":31337,"nonce":0,
//    "raw":"0x02..","label":"commit job 1 checkpoint 1","payload":{...}}
//   {"seq":2,"prev":"0x..","kind":"nonce","from":"0x..","chain_id":31337,"next":5}
//   {"seq":3,"prev":"0x..","kind":"sent","tx":"0x..","block":12,"status":1,"gas_used":64000}
// A record exists once its line, newline included, is written and fsynced. On open:
//  - a torn last line (no newline, or not JSON: a crash mid-append) is ignored by readers and
//    cut off by the next writer;
//  - anything else that is wrong (a broken line or a "prev" mismatch before the last line, a
//    seq out of order) is refused with VerificationError naming the file and the record.
//
// Nonces offline: a transaction's nonce is fixed when it is signed, so the outbox is the nonce
// authority for the senders it queues for: next nonce = 1 + the highest nonce it holds for
// (sender, chain), or the value of the latest "nonce" record, or 0 for a sender it has never
// seen (a key dedicated to the job). While an outbox holds unsent transactions of a key, that
// key must not send by other routes; `flush` detects a nonce taken by another transaction and
// refuses, naming the record. The same signed bytes are valid whichever way they reach the
// chain: a relayer may send them too, and flush then finds them mined and only marks them.
//
// Concurrency: every append and every flush holds an exclusive flock on the file, and
// re-reads it under the lock, so several writers (ranks, a flush) never take the same nonce or
// interleave lines.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bridge/chain_client.h"
#include "bridge/transaction.h"

namespace mlcp::bridge {

struct OutboxEntry {
  uint64_t seq = 0;
  SignedTx tx;
  std::string label;
  nlohmann::json payload;       // e.g. the commitment this transaction carries
  bool sent = false;            // a "sent" record exists for it
  std::optional<bool> success;  // its mined status, when sent
};

// Offline fee and gas choices (nothing can be estimated without a node).
struct OutboxTxParams {
  uint64_t chain_id = 0;
  std::optional<Address> to;
  U256 value;
  Bytes data;
  uint64_t gas_limit = 0;
  U256 max_fee_per_gas = U256(50000000000ULL);          // 50 gwei cap; only base fee + tip is paid
  U256 max_priority_fee_per_gas = U256(1000000000ULL);  // 1 gwei
};

struct FlushOptions {
  double receipt_timeout_s = 60.0;
  // Test hook: return after this many transactions were handed to the node, before their
  // "sent" marks are written, as a crash at the worst moment would. 0 = no limit.
  size_t stop_after_sends = 0;
  // Called after each entry is settled (sent now, or found on chain).
  std::function<void(const OutboxEntry&, const Receipt&, bool already_on_chain)> on_entry;
};

struct FlushReport {
  size_t total = 0;              // transactions in the outbox
  size_t sent_now = 0;           // handed to the node by this flush
  size_t already_on_chain = 0;   // found mined (sent by an earlier, interrupted flush or a relayer)
  size_t previously_marked = 0;  // had a "sent" mark already
  size_t reverted = 0;           // mined with status 0 (marked; their nonces are spent)
  bool stopped_early = false;    // stop_after_sends reached
  uint64_t gas_used = 0;         // by the transactions settled in this flush
};

class Outbox {
 public:
  // Opens (creating when `create` and missing) and verifies the file. A torn last line (bytes
  // without a newline: an append cut by a crash) is noted (notes()) and, with `repair`, cut off;
  // any damaged complete record is a VerificationError and leaves the file as it is.
  explicit Outbox(std::string path, bool create = true, bool repair = true);

  const std::string& path() const { return path_; }

  // Signs `params` with `key` at the outbox's next nonce for the key and appends it; returns
  // the queued entry once durable.
  OutboxEntry queue(const EthKey& key, const OutboxTxParams& params, const std::string& label,
                    const nlohmann::json& payload = nullptr);
  // Appends an already signed transaction (its nonce must not be below the next free one).
  OutboxEntry append(const SignedTx& tx, const std::string& label,
                     const nlohmann::json& payload = nullptr);
  // Records where a sender's nonces start (e.g. the count a gateway read on chain).
  void setNextNonce(const Address& from, uint64_t chain_id, uint64_t next);
  uint64_t nextNonce(const Address& from, uint64_t chain_id) const;

  // Re-reads the file (other processes may have appended).
  void reload();
  const std::vector<OutboxEntry>& entries() const { return entries_; }
  // What opening or reloading noticed and repaired (a torn last line), one sentence each.
  const std::vector<std::string>& notes() const { return notes_; }
  size_t pendingCount() const;

  // Sends every unsent transaction in file order, exactly once (numbered steps in outbox.cc).
  FlushReport flush(ChainClient& chain, const FlushOptions& options = {});

 private:
  class Lock;
  void load(bool repair);
  void appendLine(nlohmann::json record);  // caller holds the lock and has reloaded
  // Records signed transaction `s` as the next entry (caller holds the lock and has reloaded).
  OutboxEntry appendTx(const SignedTx& s, const std::string& label, const nlohmann::json& payload);

  std::string path_;
  std::vector<OutboxEntry> entries_;
  std::vector<std::string> notes_;
  std::vector<nlohmann::json> nonce_records_;
  std::string last_line_hash_;
  uint64_t next_seq_ = 0;
};

}  // namespace mlcp::bridge
