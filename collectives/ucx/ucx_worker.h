// The UCX transport (ucp API, UCX 1.13): whole messages between endpoints that a Listener
// accepted or a Worker dialled over a TCP socket address. The volunteer channel runs on it.
//
//   Context (ucp_context) -> Worker (ucp_worker) -> Listener (ucp_listener)
//                                                -> Endpoint (ucp_ep) -> Request (one send)
// Each class owns its UCX handle (RAII; destructors never throw) and keeps what it was made from
// alive, so they may be destroyed in any order.
//
// Contract:
// - Threading: one thread drives a Worker. Every call on a Worker, and on the Listeners,
//   Endpoints and Requests made from it, comes from that thread (UCS_THREAD_MODE_SINGLE); UCX's
//   callbacks run inside those calls, on that thread. Two threads use two Contexts (a Context is
//   not shared between threads either). The objects may move to another thread between calls.
// - Messages: one message is one active message (ucp_am_send_nbx) of 0..max_message_bytes
//   bytes, delivered whole and in order per endpoint. UCX sends large ones by rendezvous; the
//   receiver then pulls them into a buffer of exactly their size (ucp_am_recv_data_nbx) — one
//   given back with Endpoint::recycle when it is large enough, else fresh memory.
// - Connections: dials to one listener may reach it in either order; a protocol that needs to
//   tell two connections apart says so in its first message.
// - Deadlines: every wait takes an absolute Deadline; a wait not satisfied by it throws
//   TimeoutError naming the operation and the peer. A peer that died, closed or became
//   unreachable surfaces as CommError on its endpoint (UCP_ERR_HANDLING_MODE_PEER) — never a
//   hang or an abort; the worker's other endpoints carry on.
// - Untrusted peers: each incoming message's length is checked against its endpoint's limits
//   before anything is allocated; a peer over a limit fails its endpoint (CommError).
// - Configuration (transports, devices, environment variables): ucx_context.h.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "collectives/ucx/deadline.h"
#include "collectives/ucx/ucx_context.h"
#include "collectives/ucx/ucx_endpoint.h"
#include "collectives/ucx/ucx_listener.h"

namespace mlcp::collectives::ucx {

namespace detail {
struct WorkerCore;
}

class Worker {
 public:
  // Creates a worker and registers the message handler (active message id kActiveMessageId).
  // Throws CommError with UCX's message.
  explicit Worker(const Context& context);
  ~Worker();
  Worker(Worker&&) noexcept;
  Worker& operator=(Worker&&) noexcept;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Listens on `host_port` (socket_address.h; port 0 picks a free port: Listener::port()).
  // Throws UsageError for a malformed address, CommError when UCX cannot listen there.
  Listener listen(const std::string& host_port, const ListenerOptions& options = {});

  // Dials a listener. Returns at once: the connection completes in the background, and a failure
  // (nobody listening, unreachable) surfaces as CommError on the endpoint's first wait.
  Endpoint connect(const std::string& host_port, const EndpointOptions& options = {});

  // One round of progress: UCX's callbacks run here. Returns the number of events; never blocks.
  unsigned progress();

  // Progresses until `done()` returns true or `deadline` passes; returns done()'s last value.
  // Spins briefly, then sleeps on the worker's event file descriptor while nothing happens.
  bool progressUntil(const std::function<bool()>& done, Deadline deadline);

 private:
  std::shared_ptr<detail::WorkerCore> core_;
};

}  // namespace mlcp::collectives::ucx
