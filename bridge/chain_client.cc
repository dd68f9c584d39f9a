#include "bridge/chain_client.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "bridge/contract_errors.h"

namespace mlcp::bridge {

namespace {

using json = nlohmann::json;

U256 quantity(const json& j, const char* what) {
  if (!j.is_string()) throw ChainError(fmt::format("the node sent no {} (got {})", what, j.dump()));
  try {
    return U256::parse(j.get<std::string>(), what);
  } catch (const InvalidArgument&) {
    throw ChainError(fmt::format("the node sent a malformed {}: {}", what, j.dump()));
  }
}

Bytes hexField(const json& j, const char* what) {
  if (!j.is_string()) throw ChainError(fmt::format("the node sent no {} (got {})", what, j.dump()));
  try {
    return fromHex(j.get<std::string>(), what);
  } catch (const InvalidArgument&) {
    throw ChainError(fmt::format("the node sent malformed {}: {}", what, j.dump()));
  }
}

template <size_t N>
std::array<uint8_t, N> fixedField(const json& j, const char* what) {
  Bytes b = hexField(j, what);
  if (b.size() != N)
    throw ChainError(fmt::format("the node sent a {} of {} bytes, expected {}", what, b.size(), N));
  std::array<uint8_t, N> a{};
  std::copy(b.begin(), b.end(), a.begin());
  return a;
}

// Revert data in a JSON-RPC error: "data" is the hex string (anvil, geth), or an object
// holding it under "data" (some providers).
std::optional<Bytes> revertData(const json& data) {
  try {
    if (data.is_string()) return fromHex(data.get<std::string>());
    if (data.is_object() && data.contains("data") && data["data"].is_string()) {
      return fromHex(data["data"].get<std::string>());
    }
  } catch (const InvalidArgument&) {
  }
  return std::nullopt;
}

// "WrongIndex(expected=2) — checkpoints are committed in order: ..." for a named custom error.
std::string explained(const std::string& reason) {
  const std::string why = explainContractError(reason.substr(0, reason.find('(')));
  return why.empty() ? reason : reason + " — " + why;
}

}  // namespace

std::string RevertError::errorName() const {
  size_t paren = reason_.find('(');
  if (paren == std::string::npos || reason_.rfind("Error(", 0) == 0 ||
      reason_.rfind("Panic(", 0) == 0)
    return "";
  return reason_.substr(0, paren);
}

json toJson(const CallRequest& req) {
  json j = json::object();
  if (req.from) j["from"] = toHex(*req.from);
  if (req.to) j["to"] = toHex(*req.to);
  if (!req.value.isZero()) j["value"] = req.value.toQuantity();
  j["data"] = toHex(req.data);
  return j;
}

ChainClient::ChainClient(std::string url, RpcOptions options) : rpc_(std::move(url), options) {}

void ChainClient::addErrorAbi(const ContractAbi& abi, std::string contract_name) {
  error_abis_.emplace_back(std::move(contract_name), abi);
}

std::string ChainClient::describeRevert(const Bytes& data) const {
  for (auto it = error_abis_.rbegin(); it != error_abis_.rend(); ++it) {
    if (auto s = it->second.decodeError(data)) return *s;
  }
  if (auto s = decodeBuiltinError(data)) return *s;
  if (data.empty()) return "reverted without data";
  return "unknown error " + toHex(data);
}

std::string ChainClient::describeCall(const CallRequest& req, const std::string& fallback) const {
  if (!req.to) return "the deployment";
  if (req.data.size() < 4) return fallback;
  for (auto it = error_abis_.rbegin(); it != error_abis_.rend(); ++it) {
    for (const AbiFunction& f : it->second.functions()) {
      if (std::equal(f.selector.begin(), f.selector.end(), req.data.begin()))
        return it->first + "." + f.name;
    }
  }
  return fallback;
}

RevertError ChainClient::revertFrom(const JsonRpcError& e, const std::string& context) const {
  std::optional<Bytes> data = revertData(e.data());
  std::string reason = data ? describeRevert(*data) : e.nodeMessage();
  return RevertError(fmt::format("{} reverted: {}", context, explained(reason)),
                     data.value_or(Bytes{}), reason);
}

uint64_t ChainClient::chainId() {
  if (!chain_id_) chain_id_ = quantity(rpc_.call("eth_chainId"), "chain id").toU64();
  return *chain_id_;
}

uint64_t ChainClient::blockNumber() {
  return quantity(rpc_.call("eth_blockNumber"), "block number").toU64();
}

uint64_t ChainClient::latestTimestamp() {
  json b = rpc_.call("eth_getBlockByNumber", json::array({"latest", false}));
  if (!b.is_object()) throw ChainError(fmt::format("the node at {} has no latest block", url()));
  return quantity(b.at("timestamp"), "block timestamp").toU64();
}

std::optional<Hash32> ChainClient::blockHash(uint64_t number) {
  json b = rpc_.call("eth_getBlockByNumber", json::array({u64ToQuantity(number), false}));
  if (b.is_null()) return std::nullopt;
  return fixedField<32>(b.at("hash"), "block hash");
}

U256 ChainClient::balance(const Address& a, const std::string& block) {
  return quantity(rpc_.call("eth_getBalance", json::array({toHex(a), block})), "balance");
}

uint64_t ChainClient::transactionCount(const Address& a, const std::string& block) {
  return quantity(rpc_.call("eth_getTransactionCount", json::array({toHex(a), block})),
                  "transaction count")
      .toU64();
}

Fees ChainClient::suggestFees() {
  json block = rpc_.call("eth_getBlockByNumber", json::array({"latest", false}));
  U256 base = block.is_object() && block.contains("baseFeePerGas")
                  ? quantity(block["baseFeePerGas"], "base fee")
                  : U256(0);
  U256 tip;
  try {
    tip = quantity(rpc_.call("eth_maxPriorityFeePerGas"), "priority fee");
  } catch (const JsonRpcError&) {
    tip = U256(1000000000);  // 1 gwei where the node has no suggestion
  }
  return {base * U256(2) + tip, tip};
}

Bytes ChainClient::call(const CallRequest& req, const std::string& block) {
  try {
    return hexField(rpc_.call("eth_call", json::array({toJson(req), block})), "call result");
  } catch (const JsonRpcError& e) {
    if (revertData(e.data()) || e.code() == 3 ||
        e.nodeMessage().find("revert") != std::string::npos) {
      throw revertFrom(e, describeCall(req, "call"));
    }
    throw;
  }
}

uint64_t ChainClient::estimateGas(const CallRequest& req) {
  try {
    return quantity(rpc_.call("eth_estimateGas", json::array({toJson(req)})), "gas estimate")
        .toU64();
  } catch (const JsonRpcError& e) {
    if (revertData(e.data()) || e.code() == 3 ||
        e.nodeMessage().find("revert") != std::string::npos) {
      throw revertFrom(e, describeCall(req, "the transaction"));
    }
    throw;
  }
}

SignedTx ChainClient::prepare(const EthKey& key, const CallRequest& req_in, const TxOptions& opts) {
  CallRequest req = req_in;
  req.from = key.address();
  Eip1559Tx tx;
  tx.chain_id = chainId();
  // 1. nonce
  if (opts.nonce) {
    tx.nonce = *opts.nonce;
  } else {
    uint64_t pending = transactionCount(key.address(), "pending");
    auto it = next_nonce_.find(key.address());
    tx.nonce = it == next_nonce_.end() ? pending : std::max(pending, it->second);
  }
  // 2. gas
  if (opts.gas_limit) {
    tx.gas_limit = *opts.gas_limit;
  } else {
    uint64_t estimate = estimateGas(req);
    tx.gas_limit =
        static_cast<uint64_t>(std::ceil(static_cast<double>(estimate) * opts.gas_margin));
  }
  // 3. fees
  if (!opts.max_fee_per_gas || !opts.max_priority_fee_per_gas) {
    Fees f = suggestFees();
    tx.max_fee_per_gas = opts.max_fee_per_gas.value_or(f.max_fee_per_gas);
    tx.max_priority_fee_per_gas =
        opts.max_priority_fee_per_gas.value_or(f.max_priority_fee_per_gas);
  } else {
    tx.max_fee_per_gas = *opts.max_fee_per_gas;
    tx.max_priority_fee_per_gas = *opts.max_priority_fee_per_gas;
  }
  tx.to = req.to;
  tx.value = req.value;
  tx.data = req.data;
  SignedTx s = signTransaction(tx, key);
  return s;
}

Hash32 ChainClient::sendRaw(const SignedTx& tx) {
  try {
    Hash32 h = fixedField<32>(rpc_.call("eth_sendRawTransaction", json::array({toHex(tx.raw)})),
                              "transaction hash");
    if (h != tx.hash) {
      throw ChainError(fmt::format("the node at {} reports hash {} for transaction {}", url(),
                                   toHex(h), toHex(tx.hash)));
    }
  } catch (const JsonRpcError& e) {
    // Resending bytes the node already has ("already known", or "nonce too low" once mined) is
    // not a failure: the transaction is there.
    if (!knowsTransaction(tx.hash)) throw;
  }
  auto it = next_nonce_.find(tx.from);
  if (it == next_nonce_.end() || it->second <= tx.tx.nonce) next_nonce_[tx.from] = tx.tx.nonce + 1;
  return tx.hash;
}

Receipt ChainClient::parseReceipt(const json& r) const {
  Receipt rc;
  rc.tx_hash = fixedField<32>(r.at("transactionHash"), "transaction hash");
  rc.success = quantity(r.at("status"), "status") == U256(1);
  rc.block_number = quantity(r.at("blockNumber"), "block number").toU64();
  rc.gas_used = quantity(r.at("gasUsed"), "gas used").toU64();
  rc.effective_gas_price = quantity(r.at("effectiveGasPrice"), "effective gas price");
  rc.from = fixedField<20>(r.at("from"), "sender");
  if (r.contains("contractAddress") && r["contractAddress"].is_string()) {
    rc.contract_address = fixedField<20>(r["contractAddress"], "contract address");
  }
  for (const json& l : r.value("logs", json::array())) {
    Log log;
    log.address = fixedField<20>(l.at("address"), "log address");
    for (const json& t : l.at("topics")) log.topics.push_back(fixedField<32>(t, "log topic"));
    log.data = hexField(l.at("data"), "log data");
    log.log_index = quantity(l.at("logIndex"), "log index").toU64();
    rc.logs.push_back(std::move(log));
  }
  return rc;
}

std::optional<Receipt> ChainClient::receipt(const Hash32& tx_hash) {
  json r = rpc_.call("eth_getTransactionReceipt", json::array({toHex(tx_hash)}));
  if (r.is_null()) return std::nullopt;
  try {
    return parseReceipt(r);
  } catch (const json::exception& e) {
    throw ChainError(fmt::format("the node at {} sent a malformed receipt: {}", url(), e.what()));
  }
}

std::vector<Log> ChainClient::logs(const Address& address,
                                   const std::vector<std::optional<Hash32>>& topics,
                                   uint64_t from_block) {
  json filter = {
      {"address", toHex(address)}, {"fromBlock", u64ToQuantity(from_block)}, {"toBlock", "latest"}};
  json t = json::array();
  for (const auto& topic : topics) t.push_back(topic ? json(toHex(*topic)) : json());
  filter["topics"] = t;
  json result = rpc_.call("eth_getLogs", json::array({filter}));
  std::vector<Log> out;
  try {
    for (const json& l : result) {
      Log log;
      log.address = fixedField<20>(l.at("address"), "log address");
      for (const json& tp : l.at("topics")) log.topics.push_back(fixedField<32>(tp, "log topic"));
      log.data = hexField(l.at("data"), "log data");
      log.log_index = quantity(l.at("logIndex"), "log index").toU64();
      out.push_back(std::move(log));
    }
  } catch (const json::exception& e) {
    throw ChainError(fmt::format("the node at {} sent malformed logs: {}", url(), e.what()));
  }
  return out;
}

bool ChainClient::knowsTransaction(const Hash32& tx_hash) {
  return !rpc_.call("eth_getTransactionByHash", json::array({toHex(tx_hash)})).is_null();
}

Receipt ChainClient::waitForReceipt(const Hash32& tx_hash, double timeout_s, bool throw_on_revert) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  double poll = 0.005;
  for (;;) {
    if (auto r = receipt(tx_hash)) {
      if (!r->success && throw_on_revert) {
        // Replay the call just before its block to learn why it reverted.
        json tx = rpc_.call("eth_getTransactionByHash", json::array({toHex(tx_hash)}));
        CallRequest req;
        req.from = r->from;
        try {
          if (tx.contains("to") && tx["to"].is_string()) req.to = fixedField<20>(tx["to"], "to");
          req.value = quantity(tx.at("value"), "value");
          req.data = hexField(tx.contains("input") ? tx["input"] : tx.at("data"), "input");
        } catch (const json::exception& e) {
          throw ChainError(fmt::format("the node at {} sent a malformed transaction {}: {}", url(),
                                       toHex(tx_hash), e.what()));
        }
        std::string reason = "reverted (no reason available)";
        Bytes data;
        try {
          call(req, u64ToQuantity(r->block_number - 1));
        } catch (const RevertError& e) {
          reason = e.reason();
          data = e.data();
        } catch (const ChainError&) {
        }
        throw RevertError(fmt::format("{} (transaction {}) reverted in block {}: {}",
                                      describeCall(req, "the transaction"), toHex(tx_hash),
                                      r->block_number, explained(reason)),
                          data, reason);
      }
      return *r;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw TimeoutError(
          fmt::format("transaction {} was not mined within {:.0f} s by the node at {}",
                      toHex(tx_hash), timeout_s, url()));
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(poll));  // polling interval
    poll = std::min(poll * 2, 0.25);
  }
}

Receipt ChainClient::transact(const EthKey& key, const CallRequest& req, const TxOptions& opts) {
  SignedTx tx = prepare(key, req, opts);
  sendRaw(tx);
  return waitForReceipt(tx.hash, opts.receipt_timeout_s);
}

Receipt ChainClient::deploy(const EthKey& key, const Bytes& init_code, const TxOptions& opts) {
  CallRequest req;
  req.data = init_code;
  Receipt r = transact(key, req, opts);
  if (!r.contract_address)
    throw ChainError(fmt::format("deployment {} has no contract address", toHex(r.tx_hash)));
  return r;
}

}  // namespace mlcp::bridge
