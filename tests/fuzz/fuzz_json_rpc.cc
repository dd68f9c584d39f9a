// Fuzzes the JSON-RPC response decoding (bridge/json_rpc.h, bridge/chain_client.h): the node's
// answers become results, JsonRpcError / RevertError, receipts, logs and quantities.
//
// The transport is replaced, not the decoder: this file defines the libcurl functions that
// JsonRpcClient calls (curl_easy_init, _setopt, _perform, _getinfo, _cleanup, curl_slist_*),
// which the linker prefers to libcurl's, so JsonRpcClient::call runs unchanged and "receives"
// the fuzz input as HTTP 200 bodies, with no handle, socket or buffer of libcurl's.
//
// Input: byte 0 picks the ChainClient operation; the rest is the node's response bodies, one
// per RPC call in order, separated by NUL bytes (a call past the last body finds the node
// unreachable). ChainError (and its subclasses) / InvalidArgument are the expected rejections.
// The last operation instead feeds the rest as text to the hex and quantity parsers
// (quantityToU64, fromHex, U256::parse) and checks that each round-trips through its printer.
#include <curl/curl.h>

#include <cstdarg>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/abi.h"
#include "bridge/chain_client.h"
#include "bridge/contract_artifacts.h"
#include "tests/fuzz/fuzz_util.h"

namespace bridge = mlcp::bridge;
using mlcp::fuzz::expectOnlyMlcpErrors;
using mlcp::fuzz::fuzzCheck;

// ---- the fake transport -----------------------------------------------------------------------
namespace {

curl_write_callback g_write = nullptr;
void* g_write_data = nullptr;
std::vector<std::string_view> g_bodies;
size_t g_next_body = 0;

}  // namespace

// The signatures are libcurl's own (an enum before the "..."), which clang's -Wvarargs flags;
// va_start after an enum is well defined on every ABI this builds for (it is passed as an int).
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wvarargs"

extern "C" CURL* curl_easy_init() {
  static int handle;
  return &handle;
}
extern "C" void curl_easy_cleanup(CURL*) {}
extern "C" curl_slist* curl_slist_append(curl_slist* list, const char*) {
  static curl_slist node{};
  return list != nullptr ? list : &node;
}
extern "C" void curl_slist_free_all(curl_slist*) {}

extern "C" CURLcode curl_easy_setopt(CURL*, CURLoption option, ...) {
  va_list ap;
  va_start(ap, option);
  if (option == CURLOPT_WRITEFUNCTION) g_write = va_arg(ap, curl_write_callback);
  if (option == CURLOPT_WRITEDATA) g_write_data = va_arg(ap, void*);
  va_end(ap);
  return CURLE_OK;
}

extern "C" CURLcode curl_easy_perform(CURL*) {
  if (g_next_body >= g_bodies.size()) return CURLE_COULDNT_CONNECT;
  std::string body(g_bodies[g_next_body++]);  // writable, as curl's buffer is
  if (!body.empty() && g_write(body.data(), 1, body.size(), g_write_data) != body.size()) {
    return CURLE_WRITE_ERROR;
  }
  return CURLE_OK;
}

extern "C" CURLcode curl_easy_getinfo(CURL*, CURLINFO info, ...) {
  va_list ap;
  va_start(ap, info);
  if (info == CURLINFO_RESPONSE_CODE) *va_arg(ap, long*) = 200;
  va_end(ap);
  return CURLE_OK;
}

#pragma clang diagnostic pop

// ---- the harness --------------------------------------------------------------------------------
namespace {

const bridge::EthKey& key() {
  static const bridge::EthKey k = bridge::EthKey::fromPrivateKey(
      bridge::Hash32{0x4c, 0x08, 0x83, 0xa6, 0x91, 0x02, 0x93, 0x7d, 0x62, 0x31, 0x47,
                     0x1b, 0x5d, 0xbb, 0x62, 0x04, 0xfe, 0x51, 0x29, 0x61, 0x70, 0x82,
                     0x79, 0x2a, 0xe4, 0x68, 0xd0, 0x1a, 0x3f, 0x36, 0x23, 0x18});
  return k;
}

bridge::CallRequest request() {
  bridge::CallRequest req;
  req.to = bridge::Address{0x5f, 0xbd, 0xb2, 0x31, 0x56, 0x78, 0xaf, 0xec, 0xb3, 0x67,
                           0xf0, 0x32, 0xd9, 0x3f, 0x64, 0x2f, 0x64, 0x18, 0x0a, 0xa3};
  req.data = bridge::mlcpJobsAbi().encodeCall("acceptJob", {bridge::abi::Value::uint(7)});
  return req;
}

void decodeEvents(const std::vector<bridge::Log>& logs) {
  for (const bridge::DecodedEvent& ev : bridge::mlcpJobsAbi().decodeLogs(logs)) ev.toString();
}

// The hex and quantity parsers on text, each checked against its printer.
void parseText(std::string_view text) {
  expectOnlyMlcpErrors([&] {
    const uint64_t v = bridge::quantityToU64(text);
    fuzzCheck(bridge::quantityToU64(bridge::u64ToQuantity(v)) == v, "quantity round trip");
  });
  expectOnlyMlcpErrors([&] {
    const bridge::Bytes b = bridge::fromHex(text);
    fuzzCheck(bridge::fromHex(bridge::toHex(b)) == b, "fromHex(toHex(b)) == b");
  });
  expectOnlyMlcpErrors([&] {
    const bridge::U256 u = bridge::U256::parse(text);
    fuzzCheck(bridge::U256::parse(u.toQuantity()) == u, "U256 quantity round trip");
    fuzzCheck(bridge::U256::parse(u.toDecimal()) == u, "U256 decimal round trip");
  });
  expectOnlyMlcpErrors([&] { bridge::U256::parseAmount(text).toDecimal(); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t op = data[0] % 16;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (op == 15) {
    parseText(rest);
    return 0;
  }
  g_bodies.clear();
  g_next_body = 0;
  for (size_t start = 0;;) {
    const size_t nul = rest.find('\0', start);
    g_bodies.push_back(rest.substr(start, nul == std::string_view::npos ? nul : nul - start));
    if (nul == std::string_view::npos) break;
    start = nul + 1;
  }

  expectOnlyMlcpErrors([&] {
    bridge::RpcOptions options;
    options.max_attempts = 1;  // one body per call; no sleeping between retries
    bridge::ChainClient chain("http://fuzz.invalid:8545", options);
    // Revert data is decoded by the registered ABI (a copy: only where a revert can occur).
    if (op == 5 || op == 6 || op == 10 || op == 13) {
      chain.addErrorAbi(bridge::mlcpJobsAbi(), "MlcpJobs");
    }
    const bridge::Hash32 hash{0xab};
    bridge::TxOptions tx_options;
    tx_options.receipt_timeout_s = 0;  // poll once
    switch (op) {
      case 0:
        chain.chainId();
        break;
      case 1:
        chain.blockNumber();
        break;
      case 2:
        chain.balance(key().address()).toDecimal();
        break;
      case 3:
        chain.transactionCount(key().address());
        break;
      case 4:
        chain.suggestFees();
        break;
      case 5:
        chain.call(request());
        break;
      case 6:
        chain.estimateGas(request());
        break;
      case 7:
        if (auto r = chain.receipt(hash)) decodeEvents(r->logs);
        break;
      case 8:
        decodeEvents(chain.logs(*request().to,
                                {bridge::mlcpJobsAbi().event("JobAccepted").topic0, std::nullopt}));
        break;
      case 9:
        chain.knowsTransaction(hash);
        break;
      case 10:
        chain.waitForReceipt(hash, 0.0, /*throw_on_revert=*/true);
        break;
      case 11: {
        bridge::TxOptions fixed;
        fixed.nonce = 3;
        fixed.gas_limit = 100000;
        fixed.max_fee_per_gas = bridge::U256(2000000000);
        fixed.max_priority_fee_per_gas = bridge::U256(1000000000);
        chain.sendRaw(chain.prepare(key(), request(), fixed));
        break;
      }
      case 12:
        chain.prepare(key(), request());
        break;
      case 13:
        chain.transact(key(), request(), tx_options);
        break;
      case 14:
        chain.rpc().call("eth_getBlockByNumber", nlohmann::json::array({"latest", false})).dump();
        break;
    }
  });
  return 0;
}
