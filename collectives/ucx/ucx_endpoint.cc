#include "collectives/ucx/ucx_endpoint.h"

#include <fmt/format.h>

#include "base/error.h"
#include "collectives/ucx/ucx_check.h"
#include "collectives/ucx/ucx_core.h"

namespace mlcp::collectives::ucx {
namespace {

constexpr auto kDestructorCloseBound = std::chrono::seconds(1);

}  // namespace

Endpoint::Endpoint(std::shared_ptr<detail::WorkerCore> worker,
                   std::shared_ptr<detail::EndpointState> st)
    : worker_(std::move(worker)), state_(std::move(st)) {}

Endpoint::~Endpoint() {
  if (state_ != nullptr && !state_->closed) {
    worker_->closeEndpoint(*state_, false, Clock::now() + kDestructorCloseBound);
  }
}

Endpoint::Endpoint(Endpoint&&) noexcept = default;

Endpoint& Endpoint::operator=(Endpoint&& o) noexcept {
  if (this != &o) {
    if (state_ != nullptr && !state_->closed) {
      worker_->closeEndpoint(*state_, false, Clock::now() + kDestructorCloseBound);
    }
    worker_ = std::move(o.worker_);
    state_ = std::move(o.state_);
  }
  return *this;
}

const std::string& Endpoint::peer() const {
  require(state_ != nullptr, "Endpoint::peer on an empty endpoint");
  return state_->peer;
}

void Endpoint::requireOpen(const char* what) const {
  require(state_ != nullptr, fmt::format("Endpoint::{} on an empty endpoint", what));
  if (state_->closed) {
    throw CommError(fmt::format("{} on the endpoint to {}: it is closed", what, state_->peer));
  }
}

Request Endpoint::sendAsync(Buffer payload) {
  requireOpen("sendAsync");
  if (state_->failed) throw CommError(state_->failure);
  if (payload.size() > state_->options.max_message_bytes) {
    throw InvalidArgument(fmt::format("a message of {} bytes to {} exceeds the limit of {} bytes",
                                      payload.size(), state_->peer,
                                      state_->options.max_message_bytes));
  }
  auto op = std::make_shared<detail::OpState>();
  op->buffer = std::move(payload);
  const size_t bytes = op->buffer.size();
  ucp_request_param_t param{};
  param.op_attr_mask =
      UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_FLAGS;
  param.flags = UCP_AM_SEND_FLAG_REPLY;
  const size_t threshold = state_->options.rendezvous_threshold;
  if (threshold > 0)
    param.flags |= bytes >= threshold ? UCP_AM_SEND_FLAG_RNDV : UCP_AM_SEND_FLAG_EAGER;
  param.cb.send = detail::onSendDone;
  param.user_data = detail::keepForCallback(op);
  ucs_status_ptr_t sp =
      ucp_am_send_nbx(state_->ep, kActiveMessageId, nullptr, 0, op->buffer.data(), bytes, &param);
  detail::settleImmediate(sp, op, param.user_data);
  if (op->done && op->status != UCS_OK) {
    throw CommError(fmt::format("sending {} bytes to {}: {}", bytes, state_->peer,
                                ucsStatusString(op->status)));
  }
  ++state_->stats.messages_sent;
  state_->stats.bytes_sent += bytes;
  return Request(worker_, state_, std::move(op), bytes);
}

void Endpoint::send(Buffer payload, Deadline deadline) {
  sendAsync(std::move(payload)).wait(deadline);
}

std::optional<Buffer> Endpoint::tryReceive() {
  requireOpen("tryReceive");
  worker_->progress();
  auto& inbox = state_->inbox;
  if (!inbox.empty() && inbox.front()->done) return receive(Clock::now());
  if (inbox.empty() && state_->failed) throw CommError(state_->failure);
  return std::nullopt;
}

Buffer Endpoint::receive(Deadline deadline) {
  requireOpen("receive");
  auto& inbox = state_->inbox;
  const bool ready = worker_->progressUntil(
      [&] { return (!inbox.empty() && inbox.front()->done) || (inbox.empty() && state_->failed); },
      deadline);
  if (!ready) {
    throw TimeoutError(
        fmt::format("no message from {} within the deadline{}", state_->peer,
                    inbox.empty() ? "" : " (a rendezvous transfer is still in progress)"));
  }
  if (inbox.empty()) throw CommError(state_->failure);
  detail::OpRef op = std::move(inbox.front());
  inbox.pop_front();
  state_->queued_bytes -= op->buffer.size();
  if (op->status != UCS_OK) {
    throw CommError(fmt::format("receiving a {}-byte message from {}: {}", op->buffer.size(),
                                state_->peer, ucsStatusString(op->status)));
  }
  return std::move(op->buffer);
}

void Endpoint::recycle(Buffer buffer) {
  if (state_ == nullptr) return;
  const size_t bytes = buffer.capacity();
  const EndpointOptions& o = state_->options;
  if (bytes == 0 || bytes > o.max_spare_bytes || o.spare_buffers == 0) return;
  // The newest buffers are kept, the oldest dropped to make room: spares left from messages of
  // an earlier size must not keep out those of the sizes arriving now.
  auto& spares = state_->spares;
  while (!spares.empty() &&
         (spares.size() >= o.spare_buffers || state_->spare_bytes + bytes > o.max_spare_bytes)) {
    state_->spare_bytes -= spares.front().capacity();
    spares.erase(spares.begin());
  }
  state_->spare_bytes += bytes;
  spares.push_back(std::move(buffer));
}

bool Endpoint::failed() const { return state_ != nullptr && state_->failed; }

const std::string& Endpoint::failureReason() const {
  static const std::string kNone;
  return state_ != nullptr && state_->failed ? state_->failure : kNone;
}

void Endpoint::fail(const std::string& reason) {
  require(state_ != nullptr, "Endpoint::fail on an empty endpoint");
  state_->fail(reason);
}

void Endpoint::close(Deadline deadline) {
  if (state_ == nullptr || state_->closed) return;
  if (!worker_->closeEndpoint(*state_, true, deadline)) {
    throw TimeoutError(fmt::format(
        "closing the endpoint to {}: outstanding messages were not flushed within the deadline "
        "(closed anyway)",
        state_->peer));
  }
}

const EndpointStats& Endpoint::stats() const {
  require(state_ != nullptr, "Endpoint::stats on an empty endpoint");
  return state_->stats;
}

}  // namespace mlcp::collectives::ucx
