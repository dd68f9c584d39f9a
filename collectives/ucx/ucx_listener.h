// A listening TCP socket address (ucp_listener_h, RAII) that hands out an Endpoint per incoming
// connection; see ucx_worker.h for the contract.
//
// Connection requests wait in a bounded queue until accept() takes them; when max_pending are
// waiting, further requests are refused (ucp_listener_reject) and counted. Destroying the
// listener refuses the ones still waiting; endpoints already accepted stay open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "collectives/ucx/deadline.h"
#include "collectives/ucx/ucx_endpoint.h"

namespace mlcp::collectives::ucx {

namespace detail {
struct ListenerCore;
}

struct ListenerOptions {
  size_t max_pending = 64;
};

class Listener {
 public:
  Listener() = default;
  ~Listener();
  Listener(Listener&&) noexcept;
  Listener& operator=(Listener&&) noexcept;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  bool valid() const { return core_ != nullptr; }
  // The bound address and port (the port the kernel picked when asked for port 0).
  const std::string& address() const;
  uint16_t port() const;

  // The next connection, as an endpoint. TimeoutError when none arrives by the deadline;
  // CommError when UCX cannot create the endpoint (the request is dropped; accept again).
  Endpoint accept(Deadline deadline, const EndpointOptions& options = {});
  // A connection if one is waiting (progresses the worker once); never blocks.
  std::optional<Endpoint> tryAccept(const EndpointOptions& options = {});

  // Connection requests refused because max_pending were already waiting.
  uint64_t refused() const;

 private:
  friend class Worker;
  explicit Listener(std::shared_ptr<detail::ListenerCore> core);
  std::shared_ptr<detail::ListenerCore> core_;
};

}  // namespace mlcp::collectives::ucx
