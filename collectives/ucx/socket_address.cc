#include "collectives/ucx/socket_address.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>

#include "base/error.h"

namespace mlcp::collectives::ucx {

SocketAddress SocketAddress::parse(const std::string& host_port) {
  auto bad = [&](const std::string& why) {
    return UsageError(
        fmt::format("address '{}': {}; expected HOST:PORT (e.g. 127.0.0.1:7400 or "
                    "[::1]:7400)",
                    host_port, why));
  };
  std::string host, port;
  if (!host_port.empty() && host_port.front() == '[') {
    const auto close = host_port.find(']');
    if (close == std::string::npos || close + 1 >= host_port.size() ||
        host_port[close + 1] != ':') {
      throw bad("an IPv6 address needs the form [ADDRESS]:PORT");
    }
    host = host_port.substr(1, close - 1);
    port = host_port.substr(close + 2);
  } else {
    const auto colon = host_port.rfind(':');
    if (colon == std::string::npos) throw bad("no ':' before the port");
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
    if (host.find(':') != std::string::npos) throw bad("an IPv6 address needs brackets");
  }
  if (host.empty()) throw bad("no host");
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535) {
    throw bad(fmt::format("port '{}' is not a number 0..65535", port));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    throw bad(fmt::format("host '{}' does not resolve: {}", host, gai_strerror(rc)));
  }
  SocketAddress out;
  std::memcpy(&out.storage_, found->ai_addr, found->ai_addrlen);
  out.length_ = found->ai_addrlen;
  freeaddrinfo(found);
  return out;
}

SocketAddress SocketAddress::fromSockaddr(const sockaddr* addr) {
  require(addr != nullptr, "SocketAddress::fromSockaddr: null address");
  SocketAddress out;
  if (addr->sa_family == AF_INET) {
    out.length_ = sizeof(sockaddr_in);
  } else if (addr->sa_family == AF_INET6) {
    out.length_ = sizeof(sockaddr_in6);
  } else {
    throw InvalidArgument(
        fmt::format("SocketAddress: address family {} is not IPv4 or IPv6", addr->sa_family));
  }
  std::memcpy(&out.storage_, addr, out.length_);
  return out;
}

uint16_t SocketAddress::port() const {
  if (storage_.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
}

std::string SocketAddress::toString() const {
  char text[INET6_ADDRSTRLEN] = {0};
  if (storage_.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text,
              sizeof(text));
    return fmt::format("{}:{}", text, port());
  }
  inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text,
            sizeof(text));
  return fmt::format("[{}]:{}", text, port());
}

}  // namespace mlcp::collectives::ucx
