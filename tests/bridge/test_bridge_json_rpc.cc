// JsonRpcClient against a scripted loopback HTTP server (one thread, one canned reply per
// connection): retries on HTTP 503 with backoff then success, no retry on a JSON-RPC error
// object, a non-JSON-RPC reply named as such, and keep-alive reuse not required.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "bridge/chain_client.h"
#include "bridge/json_rpc.h"

namespace mlcp::bridge {
namespace {

// Answers the i-th connection with replies[i] (HTTP status line, JSON body), then closes it;
// the last reply repeats.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<std::pair<int, std::string>> replies)
      : replies_(std::move(replies)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    url_ = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  const std::string& url() const { return url_; }
  int connections() const { return served_; }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      // Read the request head and its body (Content-Length bytes).
      std::string req;
      char buf[4096];
      size_t need = std::string::npos;
      while (true) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
        size_t head = req.find("\r\n\r\n");
        if (head != std::string::npos && need == std::string::npos) {
          size_t cl = req.find("Content-Length: ");
          need = head + 4 + (cl == std::string::npos ? 0 : std::stoul(req.substr(cl + 16)));
        }
        if (need != std::string::npos && req.size() >= need) break;
      }
      const auto& [status, body] = replies_[std::min<size_t>(served_, replies_.size() - 1)];
      ++served_;
      std::string resp =
          "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
          "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  std::vector<std::pair<int, std::string>> replies_;
  int fd_ = -1;
  std::string url_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> served_{0};
};

RpcOptions fast() {
  RpcOptions o;
  o.max_attempts = 4;
  o.backoff_initial_s = 0.02;
  o.timeout_s = 2;
  return o;
}

TEST(JsonRpc, RetriesServerErrorsThenSucceeds) {
  ScriptedServer s({{503, "busy"},
                    {502, "bad gateway"},
                    {200, R"({"jsonrpc":"2.0","id":1,"result":"0x7a69"})"}});
  JsonRpcClient rpc(s.url(), fast());
  EXPECT_EQ(rpc.call("eth_chainId").get<std::string>(), "0x7a69");
  EXPECT_EQ(rpc.attemptsOfLastCall(), 3);
  EXPECT_EQ(s.connections(), 3);
}

TEST(JsonRpc, GivesUpAfterMaxAttemptsNamingTheLastProblem) {
  ScriptedServer s({{503, "busy"}});
  JsonRpcClient rpc(s.url(), fast());
  try {
    rpc.call("eth_chainId");
    FAIL();
  } catch (const RpcUnreachable& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("cannot reach the chain node at " + s.url() + ": HTTP 503 busy (4 attempts"),
              std::string::npos)
        << m;
  }
  EXPECT_EQ(s.connections(), 4);
}

TEST(JsonRpc, ErrorObjectsAreNotRetriedAndCarryTheNodesWords) {
  ScriptedServer s(
      {{200,
        R"({"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"nonce too low","data":"0xdead"}})"}});
  JsonRpcClient rpc(s.url(), fast());
  try {
    rpc.call("eth_sendRawTransaction", nlohmann::json::array({"0x02"}));
    FAIL();
  } catch (const JsonRpcError& e) {
    EXPECT_EQ(e.code(), -32000);
    EXPECT_EQ(e.nodeMessage(), "nonce too low");
    EXPECT_EQ(e.data(), "0xdead");
    EXPECT_NE(
        std::string(e.what()).find("refused eth_sendRawTransaction: nonce too low (code -32000)"),
        std::string::npos)
        << e.what();
  }
  EXPECT_EQ(s.connections(), 1);
}

TEST(JsonRpc, ANonJsonRpcServerIsNamed) {
  ScriptedServer s({{200, "<html>hello</html>"}});
  JsonRpcClient rpc(s.url(), fast());
  try {
    rpc.call("eth_chainId");
    FAIL();
  } catch (const RpcUnreachable&) {
    FAIL() << "a wrong server is not a transport failure";
  } catch (const ChainError& e) {
    EXPECT_NE(std::string(e.what()).find("answered eth_chainId with HTTP 200, not JSON-RPC: hello"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(s.connections(), 1);
}

// A server that does not implement JSON-RPC (HTTP 501, an HTML page over several lines) is named
// in one line, at once: it is not "unreachable", and retrying cannot help.
TEST(JsonRpc, AnHttpErrorPageIsOneLineAndNotRetried) {
  ScriptedServer s({{501,
                     "<!DOCTYPE html>\n<html>\n<head><title>Error</title></head>\n<body>\n"
                     "<h1>Not Implemented</h1>\n<p>POST not supported</p>\n</body></html>\n"}});
  JsonRpcClient rpc(s.url(), fast());
  try {
    rpc.call("eth_chainId");
    FAIL();
  } catch (const RpcUnreachable& e) {
    FAIL() << "HTTP 501 is not a transport failure: " << e.what();
  } catch (const ChainError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_EQ(m.find('<'), std::string::npos) << m;
    EXPECT_NE(m.find("answered eth_chainId with HTTP 501, not JSON-RPC: Error Not Implemented POST "
                     "not supported"),
              std::string::npos)
        << m;
  }
  EXPECT_EQ(s.connections(), 1);
}

// Found by tests/fuzz/fuzz_json_rpc: an error object whose "code" was not an int (a string, a
// float such as 1e300 cast with undefined behaviour, a number past 32 bits) or an "error" that
// was not an object made nlohmann throw out of call(). It is the node's refusal all the same.
TEST(JsonRpc, AnErrorCodeThatIsNotAnIntReadsAsZero) {
  for (const std::string error :
       {R"({"code":"x","message":"odd"})", R"({"code":1e300,"message":"odd"})",
        R"({"code":4294967296,"message":"odd"})", R"({"code":-32000.5,"message":"odd"})",
        R"("odd")"}) {
    ScriptedServer s({{200, R"({"jsonrpc":"2.0","id":1,"error":)" + error + "}"}});
    JsonRpcClient rpc(s.url(), fast());
    try {
      rpc.call("eth_chainId");
      ADD_FAILURE() << "no error for " << error;
    } catch (const JsonRpcError& e) {
      EXPECT_EQ(e.code(), 0) << error;
      EXPECT_NE(std::string(e.what()).find("odd"), std::string::npos) << e.what();
    }
  }
  ScriptedServer s({{200, R"({"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}})"}});
  JsonRpcClient rpc(s.url(), fast());
  try {
    rpc.call("eth_chainId");
    ADD_FAILURE();
  } catch (const JsonRpcError& e) {
    EXPECT_EQ(e.code(), -32601);
  }
}

// Found by tests/fuzz/fuzz_json_rpc: to explain a reverted receipt, waitForReceipt reads the
// transaction; one without "value" (or without "input" and "data") threw nlohmann's
// out_of_range. It is a ChainError naming the transaction.
TEST(JsonRpc, AMalformedTransactionOfARevertedReceiptIsAChainError) {
  const std::string hash = "0x" + std::string(64, 'a');
  const std::string receipt =
      R"({"jsonrpc":"2.0","id":1,"result":{"transactionHash":")" + hash +
      R"(","status":"0x0","blockNumber":"0x5","gasUsed":"0x5208","effectiveGasPrice":"0x1",)"
      R"("from":"0x000000000000000000000000000000000000cafe","logs":[]}})";
  ScriptedServer s({{200, receipt}, {200, R"({"jsonrpc":"2.0","id":2,"result":{"input":"0x"}})"}});
  ChainClient chain(s.url(), fast());
  try {
    chain.waitForReceipt(fixedFromHex<32>(hash, "hash"), 5.0);
    ADD_FAILURE() << "no error";
  } catch (const RevertError& e) {
    ADD_FAILURE() << "the transaction could not be read, yet: " << e.what();
  } catch (const ChainError& e) {
    EXPECT_NE(std::string(e.what()).find("sent a malformed transaction " + hash), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace mlcp::bridge
