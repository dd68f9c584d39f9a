// JSON-RPC 2.0 over HTTP (libcurl + nlohmann-json): the one transport to an EVM node.
//
// Contract:
//  - Transport failures (connection refused, DNS, timeouts, HTTP 429/5xx without a JSON-RPC
//    body) are retried with exponential backoff, `max_attempts` in all; then RpcUnreachable is
//    thrown: one sentence naming the URL, curl's own message and the attempts made. No call
//    blocks longer than about max_attempts x (timeout + backoff).
//  - A JSON-RPC error object from the node is never retried: JsonRpcError carries the node's
//    code, message and `data` (revert data for eth_call/eth_estimateGas).
//  - Retrying is safe for every method the bridge uses: reads are idempotent, and resending the
//    same signed transaction cannot execute it twice (the nonce is in the signature).
//  - One client is used by one thread at a time (calls are serialised by a mutex).
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "base/error.h"

namespace mlcp::bridge {

struct RpcOptions {
  double timeout_s = 10.0;         // whole request, per attempt
  double connect_timeout_s = 3.0;  // TCP connect, per attempt
  int max_attempts = 4;            // 1 = no retry
  double backoff_initial_s = 0.1;  // doubled after each failed attempt ...
  double backoff_max_s = 2.0;      // ... up to this
};

// The node could not be reached (after all retries).
class RpcUnreachable : public ChainError {
 public:
  using ChainError::ChainError;
};

// The node answered with a JSON-RPC error object.
class JsonRpcError : public ChainError {
 public:
  JsonRpcError(const std::string& what, int code, std::string node_message, nlohmann::json data)
      : ChainError(what),
        code_(code),
        node_message_(std::move(node_message)),
        data_(std::move(data)) {}
  int code() const { return code_; }
  const std::string& nodeMessage() const { return node_message_; }
  const nlohmann::json& data() const { return data_; }

 private:
  int code_;
  std::string node_message_;
  nlohmann::json data_;
};

class JsonRpcClient {
 public:
  explicit JsonRpcClient(std::string url, RpcOptions options = {});
  ~JsonRpcClient();
  JsonRpcClient(const JsonRpcClient&) = delete;
  JsonRpcClient& operator=(const JsonRpcClient&) = delete;

  // Sends {"jsonrpc":"2.0","id":N,"method":method,"params":params}; returns "result".
  nlohmann::json call(const std::string& method,
                      const nlohmann::json& params = nlohmann::json::array());

  const std::string& url() const { return url_; }
  const RpcOptions& options() const { return options_; }
  int attemptsOfLastCall() const { return last_attempts_; }

 private:
  struct Curl;
  std::string url_;
  RpcOptions options_;
  std::unique_ptr<Curl> curl_;
  std::mutex mutex_;
  uint64_t next_id_ = 1;
  int last_attempts_ = 0;
};

}  // namespace mlcp::bridge
