// Internal to collectives/ucx: the shared state behind the public handles. A handle holds a
// shared_ptr to its core and to the cores it was made from, so UCX handles are released in the
// right order whatever order the user destroys the handles in:
//   ContextCore <- WorkerCore <- ListenerCore
//                             <- EndpointState <- OpState (one send or rendezvous receive)
// UCX callbacks receive raw pointers to these cores; each core outlives every callback that can
// name it (see WorkerCore::retired_ and the close sequence in ucx_core.cc).
#pragma once

#include <ucp/api/ucp.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "collectives/ucx/buffer.h"
#include "collectives/ucx/deadline.h"
#include "collectives/ucx/ucx_context.h"
#include "collectives/ucx/ucx_endpoint.h"
#include "collectives/ucx/ucx_listener.h"

namespace mlcp::collectives::ucx::detail {

struct ContextCore {
  ContextOptions options;
  ucp_context_h handle = nullptr;
  ~ContextCore();
};

// One send or one rendezvous receive. UCX's completion callback gets a heap-allocated
// shared_ptr to it (user_data), so the buffer outlives a dropped Request handle.
struct OpState {
  bool done = false;
  ucs_status_t status = UCS_INPROGRESS;
  Buffer buffer;
};
using OpRef = std::shared_ptr<OpState>;

struct EndpointState {
  ucp_ep_h ep = nullptr;
  std::string peer;
  EndpointOptions options;
  bool failed = false;
  std::string failure;
  bool closed = false;
  std::deque<OpRef> inbox;  // arrived messages, in order; a rendezvous one completes later
  size_t queued_bytes = 0;
  std::vector<Buffer> spares;  // given back by recycle(), reused for incoming messages
  size_t spare_bytes = 0;      // their capacities, summed
  EndpointStats stats;

  // A buffer of `bytes` bytes (uninitialised), from the spares when one is large enough.
  Buffer bufferFor(size_t bytes);

  // Keeps the first reason: later ones are consequences.
  void fail(std::string reason);
};

struct WorkerCore {
  std::shared_ptr<ContextCore> context;
  ucp_worker_h handle = nullptr;
  int event_fd = -1;  // -1: no wake-up support; idle waits spin and yield
  std::unordered_map<ucp_ep_h, std::shared_ptr<EndpointState>> endpoints;
  // Endpoints whose close did not complete: kept alive until the worker is destroyed, because
  // UCX may still call their error handler.
  std::vector<std::shared_ptr<EndpointState>> retired;
  // Rendezvous receives announced during ucp_worker_progress, posted right after it returns.
  struct PendingRendezvous {
    std::shared_ptr<EndpointState> ep;
    void* descriptor;
    OpRef op;
  };
  std::vector<PendingRendezvous> pending_rendezvous;

  explicit WorkerCore(std::shared_ptr<ContextCore> ctx);
  ~WorkerCore();
  WorkerCore(const WorkerCore&) = delete;
  WorkerCore& operator=(const WorkerCore&) = delete;

  unsigned progress();
  bool progressUntil(const std::function<bool()>& done, Deadline deadline);
  // Creates an endpoint with peer error handling from `params` (sockaddr or conn request set by
  // the caller) and registers it.
  std::shared_ptr<EndpointState> createEndpoint(ucp_ep_params_t params, std::string peer,
                                                const EndpointOptions& options);
  // Closes gracefully (flush mode: sends complete, the peer is told) when `flush` and the
  // endpoint has not failed, waiting until `deadline`; otherwise with UCP_EP_CLOSE_FLAG_FORCE.
  // Returns false when the close did not finish in time (UCX finishes it in the background).
  // Never throws.
  bool closeEndpoint(EndpointState& state, bool flush, Deadline deadline) noexcept;
  // Waits (progressing) for a UCX request made without a callback, then frees it. Returns its
  // status, or UCS_ERR_TIMED_OUT at the deadline (the request is released to UCX then).
  ucs_status_t waitRequest(ucs_status_ptr_t request, Deadline deadline) noexcept;
};

struct ListenerCore {
  std::shared_ptr<WorkerCore> worker;
  ucp_listener_h handle = nullptr;
  std::deque<ucp_conn_request_h> pending;
  size_t max_pending = 0;
  uint64_t refused = 0;
  std::string address;
  uint16_t port = 0;
  ~ListenerCore();
};

// Registers a UCX completion callback's user data: a heap copy of `op`, deleted by the callback
// (or by dropUserData when the call completed at once and no callback will come).
void* keepForCallback(const OpRef& op);
// The completion callback of sends and rendezvous receives: records the status in the OpState,
// drops the user data and frees the UCX request.
void onSendDone(void* request, ucs_status_t status, void* user_data);
void dropUserData(void* user_data);
// Records a UCX *_nbx call's immediate result: NULL (done now), an error, or a request that
// will complete through the callback (then nothing to do here).
void settleImmediate(ucs_status_ptr_t sp, const OpRef& op, void* user_data);

}  // namespace mlcp::collectives::ucx::detail
