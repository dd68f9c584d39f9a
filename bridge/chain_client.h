// ChainClient: what the bridge asks of an EVM node, on top of JsonRpcClient. It signs its own
// transactions (EthKey); the node never holds a key.
//
// Sending a transaction (`transact`), in numbered steps:
//  1. nonce: max(the node's pending count for the sender, the next nonce this client handed
//     out), so back-to-back sends from one client never reuse a nonce;
//  2. gas: eth_estimateGas x gas_margin (1.25; anvil 1.7.1 under-fills otherwise, see
//     shared/notes/chain.md). A call that would revert fails here with RevertError, before any
//     fee is spent;
//  3. fees: maxPriorityFee = eth_maxPriorityFeePerGas, maxFee = 2 x latest baseFee + priority;
//  4. sign locally (EIP-1559), eth_sendRawTransaction; a resend of the same bytes that the node
//     already knows counts as sent;
//  5. poll eth_getTransactionReceipt until it is mined or `receipt_timeout_s` passes
//     (TimeoutError); a mined revert (status 0) throws RevertError with the decoded reason.
//
// Revert data is decoded by the ABIs registered with `addErrorAbi` into the contract's named
// custom errors ("MlcpJobs.commitCheckpoint reverted: WrongIndex(expected=2)").
//
// Threading: one ChainClient per thread (its nonce cache is not synchronised); several clients
// may send for one key only when their sends are not concurrent (step 1 reads the node).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bridge/bytes.h"
#include "bridge/contract.h"
#include "bridge/eth_key.h"
#include "bridge/json_rpc.h"
#include "bridge/transaction.h"
#include "bridge/u256.h"

namespace mlcp::bridge {

// A contract call reverted (in eth_call, eth_estimateGas, or a mined transaction).
class RevertError : public ChainError {
 public:
  RevertError(const std::string& what, Bytes data, std::string reason)
      : ChainError(what), data_(std::move(data)), reason_(std::move(reason)) {}
  const Bytes& data() const { return data_; }
  // The decoded error ("WrongIndex(expected=2)"), or the node's message when unknown.
  const std::string& reason() const { return reason_; }
  // The custom error's name ("WrongIndex"), or "" when not decoded.
  std::string errorName() const;

 private:
  Bytes data_;
  std::string reason_;
};

struct Receipt {
  Hash32 tx_hash{};
  bool success = false;
  uint64_t block_number = 0;
  uint64_t gas_used = 0;
  U256 effective_gas_price;
  std::optional<Address> contract_address;
  std::vector<Log> logs;
  Address from{};

  U256 fee() const { return U256(gas_used) * effective_gas_price; }  // wei paid for gas
};

struct CallRequest {
  std::optional<Address> from;
  std::optional<Address> to;  // nullopt: contract creation
  U256 value;
  Bytes data;
};

struct TxOptions {
  std::optional<uint64_t> gas_limit;  // skip estimation
  std::optional<uint64_t> nonce;      // skip nonce management
  std::optional<U256> max_fee_per_gas;
  std::optional<U256> max_priority_fee_per_gas;
  double gas_margin = 1.25;
  double receipt_timeout_s = 60.0;
};

struct Fees {
  U256 max_fee_per_gas;
  U256 max_priority_fee_per_gas;
};

class ChainClient {
 public:
  explicit ChainClient(std::string url, RpcOptions options = {});

  JsonRpcClient& rpc() { return rpc_; }
  const std::string& url() const { return rpc_.url(); }

  // Contracts whose custom errors revert data is decoded with (the last added wins on clashes).
  void addErrorAbi(const ContractAbi& abi, std::string contract_name);

  uint64_t chainId();  // asked once, then cached
  uint64_t blockNumber();
  // The latest block's timestamp: "now" for the contracts' deadlines (a transaction sent now is
  // mined in a later block, at this time or after).
  uint64_t latestTimestamp();
  // The hash of block `number`; nullopt when it does not exist yet.
  std::optional<Hash32> blockHash(uint64_t number);
  U256 balance(const Address& a, const std::string& block = "latest");
  uint64_t transactionCount(const Address& a, const std::string& block = "pending");
  Fees suggestFees();

  // eth_call; throws RevertError on a revert.
  Bytes call(const CallRequest& req, const std::string& block = "latest");
  // eth_estimateGas (unpadded); throws RevertError when the call would revert.
  uint64_t estimateGas(const CallRequest& req);

  // Steps 1-3 and signing: a transaction ready to send (or to queue in an outbox).
  SignedTx prepare(const EthKey& key, const CallRequest& req, const TxOptions& opts = {});
  // Step 4: returns the hash; idempotent for bytes the node already has.
  Hash32 sendRaw(const SignedTx& tx);
  // Receipt or nullopt while pending/unknown.
  std::optional<Receipt> receipt(const Hash32& tx_hash);
  // True when the node knows the transaction (pending or mined).
  bool knowsTransaction(const Hash32& tx_hash);
  // Step 5. Throws TimeoutError at the deadline, RevertError for a mined revert.
  Receipt waitForReceipt(const Hash32& tx_hash, double timeout_s = 60.0,
                         bool throw_on_revert = true);

  // Steps 1-5.
  Receipt transact(const EthKey& key, const CallRequest& req, const TxOptions& opts = {});
  // Deploys init code (bytecode || constructor args); the receipt carries contract_address.
  Receipt deploy(const EthKey& key, const Bytes& init_code, const TxOptions& opts = {});

  // eth_getLogs of `address` from block `from_block` to latest; `topics[i]`, when set, must
  // equal the log's topic i.
  std::vector<Log> logs(const Address& address, const std::vector<std::optional<Hash32>>& topics,
                        uint64_t from_block = 0);

  // A readable reason for revert data, by the registered ABIs.
  std::string describeRevert(const Bytes& data) const;
  // "MlcpJobs.acceptJob" for call data of a registered ABI's function, else `fallback`.
  std::string describeCall(const CallRequest& req, const std::string& fallback) const;

 private:
  RevertError revertFrom(const JsonRpcError& e, const std::string& context) const;
  Receipt parseReceipt(const nlohmann::json& r) const;

  JsonRpcClient rpc_;
  std::optional<uint64_t> chain_id_;
  std::map<Address, uint64_t> next_nonce_;
  std::vector<std::pair<std::string, ContractAbi>> error_abis_;
};

// JSON for a call object: {"from","to","value","data"}.
nlohmann::json toJson(const CallRequest& req);

}  // namespace mlcp::bridge
