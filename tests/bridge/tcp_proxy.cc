#include "tests/bridge/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace mlcp::test {
namespace {

bool sendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// One HTTP request (headers and a Content-Length body) from `fd`; "" on a closed connection.
std::string readRequest(int fd) {
  std::string buf;
  char chunk[65536];
  size_t body_start = std::string::npos, length = 0;
  for (;;) {
    if (body_start != std::string::npos && buf.size() >= body_start + length) return buf;
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return "";
    buf.append(chunk, static_cast<size_t>(n));
    if (body_start == std::string::npos) {
      const auto end = buf.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      body_start = end + 4;
      std::string headers = buf.substr(0, end);
      for (auto& c : headers) c = static_cast<char>(std::tolower(c));
      const auto cl = headers.find("content-length:");
      if (cl != std::string::npos) length = std::strtoul(headers.c_str() + cl + 15, nullptr, 10);
    }
  }
}

int connectTo(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

TcpProxy::TcpProxy(const std::string& target_url) {
  const auto colon = target_url.rfind(':');
  target_port_ = std::atoi(target_url.c_str() + colon + 1);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    throw std::runtime_error("tcp proxy: cannot listen");
  }
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { serve(); });
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

std::string TcpProxy::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void TcpProxy::dropResponses(int n, const std::string& needle) {
  drop_needle_ = needle;  // set before the count makes it visible to the proxy thread
  drop_left_ = n;
}

void TcpProxy::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;  // wakes up to notice stop_
    const int client = ::accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    handle(client);
    ::close(client);
  }
}

// Requests are handled one at a time: the clients under test send one at a time anyway.
void TcpProxy::handle(int client) {
  for (;;) {
    std::string req = readRequest(client);
    if (req.empty()) return;
    if (down_) {
      ++refused_;
      return;  // closed unanswered
    }
    // One request per upstream connection: ask the node to close it after answering.
    const auto eol = req.find("\r\n");
    req.insert(eol + 2, "Connection: close\r\n");
    const int up = connectTo(target_port_);
    if (up < 0) return;
    std::string resp;
    if (sendAll(up, req)) {
      char chunk[65536];
      ssize_t n;
      while ((n = ::recv(up, chunk, sizeof chunk, 0)) > 0)
        resp.append(chunk, static_cast<size_t>(n));
    }
    ::close(up);
    if (drop_left_ > 0 && req.find(drop_needle_) != std::string::npos) {
      --drop_left_;
      ++dropped_;
      return;  // the node has it; the client never hears back
    }
    // The client's connection ends with this response too.
    sendAll(client, resp);
    return;
  }
}

}  // namespace mlcp::test
