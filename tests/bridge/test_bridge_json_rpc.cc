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
    EXPECT_NE(
        std::string(e.what()).find("did not answer eth_chainId with JSON-RPC (HTTP 200): <html>"),
        std::string::npos)
        << e.what();
  }
  EXPECT_EQ(s.connections(), 1);
}

}  // namespace
}  // namespace mlcp::bridge
