// Test helper: a loopback TCP proxy in front of a real chain node, to make the node "go away"
// for a while — connections cut, or a request delivered whose response never comes back (a node
// that died right after it received a transaction). Each request travels on its own connection
// (the proxy asks the node to close it), so a cut is exactly one request's.
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace mlcp::test {

class TcpProxy {
 public:
  explicit TcpProxy(const std::string& target_url);  // http://127.0.0.1:PORT
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  std::string url() const;
  // true: every connection is closed at once, unanswered (the node is gone); false: forward.
  void setDown(bool down) { down_ = down; }
  // The next `n` requests that contain `needle` reach the node, but their responses are dropped.
  void dropResponses(int n, const std::string& needle);
  int refused() const { return refused_; }
  int dropped() const { return dropped_; }

 private:
  void serve();
  void handle(int client);

  int listen_fd_ = -1;
  int port_ = 0, target_port_ = 0;
  std::atomic<bool> stop_{false}, down_{false};
  std::atomic<int> drop_left_{0}, refused_{0}, dropped_{0};
  std::string drop_needle_;
  std::thread thread_;
};

}  // namespace mlcp::test
