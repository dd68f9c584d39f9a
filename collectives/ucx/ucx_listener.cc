#include "collectives/ucx/ucx_listener.h"

#include <fmt/format.h>

#include "base/error.h"
#include "collectives/ucx/socket_address.h"
#include "collectives/ucx/ucx_check.h"
#include "collectives/ucx/ucx_core.h"

namespace mlcp::collectives::ucx {

Listener::Listener(std::shared_ptr<detail::ListenerCore> core) : core_(std::move(core)) {}
Listener::~Listener() = default;
Listener::Listener(Listener&&) noexcept = default;
Listener& Listener::operator=(Listener&&) noexcept = default;

const std::string& Listener::address() const {
  require(core_ != nullptr, "Listener::address on an empty listener");
  return core_->address;
}

uint16_t Listener::port() const {
  require(core_ != nullptr, "Listener::port on an empty listener");
  return core_->port;
}

uint64_t Listener::refused() const { return core_ ? core_->refused : 0; }

Endpoint Listener::accept(Deadline deadline, const EndpointOptions& options) {
  require(core_ != nullptr, "Listener::accept on an empty listener");
  if (!core_->worker->progressUntil([&] { return !core_->pending.empty(); }, deadline)) {
    throw TimeoutError(
        fmt::format("no connection to the listener on {} within the deadline", core_->address));
  }
  return *tryAccept(options);
}

std::optional<Endpoint> Listener::tryAccept(const EndpointOptions& options) {
  require(core_ != nullptr, "Listener::tryAccept on an empty listener");
  if (core_->pending.empty()) core_->worker->progress();
  if (core_->pending.empty()) return std::nullopt;
  ucp_conn_request_h request = core_->pending.front();
  core_->pending.pop_front();
  std::string peer = "an unknown client";
  ucp_conn_request_attr_t attr{};
  attr.field_mask = UCP_CONN_REQUEST_ATTR_FIELD_CLIENT_ADDR;
  if (ucp_conn_request_query(request, &attr) == UCS_OK) {
    try {
      peer = SocketAddress::fromSockaddr(reinterpret_cast<const sockaddr*>(&attr.client_address))
                 .toString();
    } catch (const Error&) {
      // Another address family: keep the generic name.
    }
  }
  ucp_ep_params_t params{};
  params.field_mask = UCP_EP_PARAM_FIELD_CONN_REQUEST;
  params.conn_request = request;
  return Endpoint(core_->worker, core_->worker->createEndpoint(params, peer, options));
}

}  // namespace mlcp::collectives::ucx
