#include "collectives/ucx/ucx_core.h"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "collectives/ucx/ucx_check.h"

namespace mlcp::collectives::ucx::detail {
namespace {

// The longest single sleep: a wait re-checks its condition and deadline at least this often.
constexpr int kMaxSleepMs = 100;
// How long a forced close may take before the endpoint is retired (kept for UCX's callbacks).
constexpr auto kForceCloseBound = std::chrono::seconds(2);

void onEndpointError(void* arg, ucp_ep_h, ucs_status_t status) {
  auto* state = static_cast<EndpointState*>(arg);
  state->fail(fmt::format("connection to {} failed: {}", state->peer, ucsStatusString(status)));
}

void onReceiveDataDone(void* request, ucs_status_t status, size_t, void* user_data) {
  onSendDone(request, status, user_data);
}

// Called inside ucp_worker_progress for every message of every endpoint of the worker. The
// sender set UCP_AM_SEND_FLAG_REPLY, so `reply_ep` names the endpoint it came through.
ucs_status_t onActiveMessage(void* arg, const void*, size_t, void* data, size_t length,
                             const ucp_am_recv_param_t* param) {
  auto* core = static_cast<WorkerCore*>(arg);
  const bool rendezvous = (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0;
  // A message we do not take: an eager one is dropped on return; a rendezvous one is dropped
  // and its sender's request completes with this status.
  const ucs_status_t refuse = rendezvous ? UCS_ERR_REJECTED : UCS_OK;
  if ((param->recv_attr & UCP_AM_RECV_ATTR_FIELD_REPLY_EP) == 0) return refuse;
  auto it = core->endpoints.find(param->reply_ep);
  if (it == core->endpoints.end()) return refuse;  // closing, or not ours
  EndpointState& ep = *it->second;
  if (ep.failed) return refuse;
  if (length > ep.options.max_message_bytes) {
    ep.fail(fmt::format("{} sent a message of {} bytes; the limit is {} bytes", ep.peer, length,
                        ep.options.max_message_bytes));
    return rendezvous ? UCS_ERR_EXCEEDS_LIMIT : UCS_OK;
  }
  if (length >
      ep.options.max_queued_bytes - std::min(ep.queued_bytes, ep.options.max_queued_bytes)) {
    ep.fail(fmt::format("{} sent more than {} bytes that were not received yet", ep.peer,
                        ep.options.max_queued_bytes));
    return rendezvous ? UCS_ERR_EXCEEDS_LIMIT : UCS_OK;
  }
  auto op = std::make_shared<OpState>();
  ep.inbox.push_back(op);
  ep.queued_bytes += length;
  ++ep.stats.messages_received;
  ep.stats.bytes_received += length;
  op->buffer = ep.bufferFor(length);
  if (rendezvous) {
    ++ep.stats.rendezvous_received;
    core->pending_rendezvous.push_back({it->second, data, op});
    return UCS_INPROGRESS;
  }
  if (length > 0) std::memcpy(op->buffer.data(), data, length);
  op->done = true;
  op->status = UCS_OK;
  return UCS_OK;
}

}  // namespace

ContextCore::~ContextCore() {
  if (handle != nullptr) ucp_cleanup(handle);
}

Buffer EndpointState::bufferFor(size_t bytes) {
  Buffer out;
  for (size_t i = 0; i < spares.size(); ++i) {
    if (spares[i].capacity() >= bytes) {
      spare_bytes -= spares[i].capacity();
      ++stats.spares_reused;
      out = std::move(spares[i]);
      spares.erase(spares.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  out.resize(bytes);
  return out;
}

void EndpointState::fail(std::string reason) {
  if (failed) return;
  failed = true;
  failure = std::move(reason);
}

void onSendDone(void* request, ucs_status_t status, void* user_data) {
  auto* op = static_cast<OpRef*>(user_data);
  (*op)->done = true;
  (*op)->status = status;
  delete op;
  ucp_request_free(request);
}

void* keepForCallback(const OpRef& op) { return new OpRef(op); }

void dropUserData(void* user_data) { delete static_cast<OpRef*>(user_data); }

void settleImmediate(ucs_status_ptr_t sp, const OpRef& op, void* user_data) {
  if (sp == nullptr) {
    op->done = true;
    op->status = UCS_OK;
    dropUserData(user_data);
  } else if (UCS_PTR_IS_ERR(sp)) {
    op->done = true;
    op->status = UCS_PTR_STATUS(sp);
    dropUserData(user_data);
  }
}

WorkerCore::WorkerCore(std::shared_ptr<ContextCore> ctx) : context(std::move(ctx)) {
  ucp_worker_params_t params{};
  params.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  params.thread_mode = UCS_THREAD_MODE_SINGLE;
  MLCP_UCS_CHECK(ucp_worker_create(context->handle, &params, &handle), "UCX worker");
  ucp_am_handler_param_t am{};
  am.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_FLAGS |
                  UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG;
  am.id = kActiveMessageId;
  am.flags = UCP_AM_FLAG_WHOLE_MSG;
  am.cb = onActiveMessage;
  am.arg = this;
  ucs_status_t st = ucp_worker_set_am_recv_handler(handle, &am);
  if (st == UCS_OK && context->options.wakeup) {
    if (ucp_worker_get_efd(handle, &event_fd) != UCS_OK) event_fd = -1;
  }
  if (st != UCS_OK) {
    ucp_worker_destroy(handle);
    checkUcs(st, "UCX worker: registering the message handler");
  }
}

WorkerCore::~WorkerCore() {
  // Endpoint handles keep this core alive, so only endpoints whose close is stuck remain.
  std::vector<std::shared_ptr<EndpointState>> open;
  for (auto& [ep, state] : endpoints) open.push_back(state);
  for (auto& state : open) closeEndpoint(*state, false, Clock::now() + kForceCloseBound);
  ucp_worker_destroy(handle);
}

unsigned WorkerCore::progress() {
  unsigned events = ucp_worker_progress(handle);
  // Rendezvous receives may not be posted from inside the message callback; post them now.
  while (!pending_rendezvous.empty()) {
    std::vector<PendingRendezvous> batch;
    batch.swap(pending_rendezvous);
    for (auto& p : batch) {
      ucp_request_param_t param{};
      param.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
      param.cb.recv_am = onReceiveDataDone;
      param.user_data = keepForCallback(p.op);
      ucs_status_ptr_t sp = ucp_am_recv_data_nbx(handle, p.descriptor, p.op->buffer.data(),
                                                 p.op->buffer.size(), &param);
      settleImmediate(sp, p.op, param.user_data);
      if (p.op->done && p.op->status != UCS_OK) {
        p.ep->fail(fmt::format("receiving a {}-byte message from {}: {}", p.op->buffer.size(),
                               p.ep->peer, ucsStatusString(p.op->status)));
      }
      ++events;
    }
  }
  return events;
}

bool WorkerCore::progressUntil(const std::function<bool()>& done, Deadline deadline) {
  auto idle_since = Clock::now();
  for (;;) {
    if (done()) return true;
    if (progress() > 0) {
      idle_since = Clock::now();
      continue;
    }
    const auto now = Clock::now();
    if (now >= deadline) return done();
    if (now - idle_since < context->options.idle_spin) continue;
    if (event_fd < 0) {
      std::this_thread::yield();
      continue;
    }
    const ucs_status_t st = ucp_worker_arm(handle);
    if (st == UCS_ERR_BUSY) continue;  // events arrived meanwhile: progress them
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    pollfd fd{event_fd, POLLIN, 0};
    if (st == UCS_OK) {
      ::poll(&fd, 1, static_cast<int>(std::clamp<int64_t>(left.count() + 1, 1, kMaxSleepMs)));
    } else {
      std::this_thread::yield();
    }
    idle_since = Clock::now();
  }
}

std::shared_ptr<EndpointState> WorkerCore::createEndpoint(ucp_ep_params_t params, std::string peer,
                                                          const EndpointOptions& options) {
  auto state = std::make_shared<EndpointState>();
  state->peer = std::move(peer);
  state->options = options;
  params.field_mask |= UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE | UCP_EP_PARAM_FIELD_ERR_HANDLER;
  params.err_mode = UCP_ERR_HANDLING_MODE_PEER;
  params.err_handler.cb = onEndpointError;
  params.err_handler.arg = state.get();
  ucp_ep_h ep = nullptr;
  MLCP_UCS_CHECK(ucp_ep_create(handle, &params, &ep),
                 fmt::format("UCX endpoint to {}", state->peer));
  state->ep = ep;
  endpoints.emplace(ep, state);
  return state;
}

ucs_status_t WorkerCore::waitRequest(ucs_status_ptr_t request, Deadline deadline) noexcept {
  if (request == nullptr) return UCS_OK;
  if (UCS_PTR_IS_ERR(request)) return UCS_PTR_STATUS(request);
  ucs_status_t st = UCS_INPROGRESS;
  try {
    progressUntil([&] { return ucp_request_check_status(request) != UCS_INPROGRESS; }, deadline);
  } catch (...) {
    // progress() only throws on allocation failure; the request is released below either way.
  }
  st = ucp_request_check_status(request);
  ucp_request_free(request);
  return st == UCS_INPROGRESS ? UCS_ERR_TIMED_OUT : st;
}

bool WorkerCore::closeEndpoint(EndpointState& state, bool flush, Deadline deadline) noexcept {
  if (state.closed) return true;
  // Graceful (flush) close: outstanding sends complete and the peer is told, so it sees the
  // endpoint fail at once rather than when its keepalive expires. Forced: the close needs no
  // answer from a peer that may be dead or hostile; outstanding operations complete with
  // UCS_ERR_CANCELED and release their buffers.
  const bool graceful = flush && !state.failed;
  ucp_request_param_t param{};
  param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
  param.flags = graceful ? 0 : UCP_EP_CLOSE_FLAG_FORCE;
  const ucs_status_t st = waitRequest(ucp_ep_close_nbx(state.ep, &param),
                                      graceful ? deadline : Clock::now() + kForceCloseBound);
  auto it = endpoints.find(state.ep);
  if (it != endpoints.end()) {
    // A close still in progress may yet call the error handler: keep the state until the
    // worker is destroyed.
    if (st == UCS_ERR_TIMED_OUT) retired.push_back(it->second);
    endpoints.erase(it);
  }
  state.closed = true;
  state.ep = nullptr;
  state.fail(fmt::format("the endpoint to {} is closed", state.peer));
  return st != UCS_ERR_TIMED_OUT;
}

ListenerCore::~ListenerCore() {
  if (handle == nullptr) return;
  for (ucp_conn_request_h request : pending) ucp_listener_reject(handle, request);
  ucp_listener_destroy(handle);
}

}  // namespace mlcp::collectives::ucx::detail
