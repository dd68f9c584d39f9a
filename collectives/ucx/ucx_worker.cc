#include "collectives/ucx/ucx_worker.h"

#include <fmt/format.h>

#include "base/error.h"
#include "collectives/ucx/socket_address.h"
#include "collectives/ucx/ucx_check.h"
#include "collectives/ucx/ucx_core.h"

namespace mlcp::collectives::ucx {
namespace {

void onConnectionRequest(ucp_conn_request_h request, void* arg) {
  auto* listener = static_cast<detail::ListenerCore*>(arg);
  if (listener->pending.size() >= listener->max_pending) {
    ucp_listener_reject(listener->handle, request);
    ++listener->refused;
    return;
  }
  listener->pending.push_back(request);
}

}  // namespace

Worker::Worker(const Context& context)
    : core_(std::make_shared<detail::WorkerCore>(context.core_)) {}
Worker::~Worker() = default;
Worker::Worker(Worker&&) noexcept = default;
Worker& Worker::operator=(Worker&&) noexcept = default;

Listener Worker::listen(const std::string& host_port, const ListenerOptions& options) {
  require(core_ != nullptr, "Worker::listen on a moved-from worker");
  require(options.max_pending > 0, "ListenerOptions::max_pending must be at least 1");
  const SocketAddress address = SocketAddress::parse(host_port);
  auto listener = std::make_shared<detail::ListenerCore>();
  listener->worker = core_;
  listener->max_pending = options.max_pending;
  ucp_listener_params_t params{};
  params.field_mask = UCP_LISTENER_PARAM_FIELD_SOCK_ADDR | UCP_LISTENER_PARAM_FIELD_CONN_HANDLER;
  params.sockaddr.addr = address.get();
  params.sockaddr.addrlen = address.length();
  params.conn_handler.cb = onConnectionRequest;
  params.conn_handler.arg = listener.get();
  MLCP_UCS_CHECK(ucp_listener_create(core_->handle, &params, &listener->handle),
                 fmt::format("UCX listener on {}", host_port));
  ucp_listener_attr_t attr{};
  attr.field_mask = UCP_LISTENER_ATTR_FIELD_SOCKADDR;
  MLCP_UCS_CHECK(ucp_listener_query(listener->handle, &attr),
                 fmt::format("UCX listener on {}: querying its address", host_port));
  const SocketAddress bound =
      SocketAddress::fromSockaddr(reinterpret_cast<const sockaddr*>(&attr.sockaddr));
  listener->address = bound.toString();
  listener->port = bound.port();
  return Listener(std::move(listener));
}

Endpoint Worker::connect(const std::string& host_port, const EndpointOptions& options) {
  require(core_ != nullptr, "Worker::connect on a moved-from worker");
  const SocketAddress address = SocketAddress::parse(host_port);
  ucp_ep_params_t params{};
  params.field_mask = UCP_EP_PARAM_FIELD_FLAGS | UCP_EP_PARAM_FIELD_SOCK_ADDR;
  params.flags = UCP_EP_PARAMS_FLAGS_CLIENT_SERVER;
  params.sockaddr.addr = address.get();
  params.sockaddr.addrlen = address.length();
  return Endpoint(core_, core_->createEndpoint(params, host_port, options));
}

unsigned Worker::progress() {
  require(core_ != nullptr, "Worker::progress on a moved-from worker");
  return core_->progress();
}

bool Worker::progressUntil(const std::function<bool()>& done, Deadline deadline) {
  require(core_ != nullptr, "Worker::progressUntil on a moved-from worker");
  return core_->progressUntil(done, deadline);
}

}  // namespace mlcp::collectives::ucx
