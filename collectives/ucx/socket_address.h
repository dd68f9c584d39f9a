// A TCP socket address written as "HOST:PORT": what a listener binds and a client dials.
//
//   "0.0.0.0:0"          every IPv4 interface, a port the kernel picks (Listener::port() tells)
//   "127.0.0.1:7400"     IPv4 loopback
//   "[::1]:7400"         IPv6 (brackets around the address)
//   "job.example:7400"   a name, resolved once with getaddrinfo (the first TCP result)
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace mlcp::collectives::ucx {

class SocketAddress {
 public:
  // Throws UsageError("...: expected HOST:PORT ...") when `host_port` is malformed, the port is
  // not 0..65535, or the name does not resolve.
  static SocketAddress parse(const std::string& host_port);
  // Copies a kernel address (AF_INET or AF_INET6); throws InvalidArgument for other families.
  static SocketAddress fromSockaddr(const sockaddr* addr);

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const { return length_; }
  uint16_t port() const;
  // "127.0.0.1:7400" or "[::1]:7400".
  std::string toString() const;

 private:
  SocketAddress() = default;
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

}  // namespace mlcp::collectives::ucx
