// A connection to one peer (ucp_ep_h, RAII) carrying whole messages both ways; see ucx_worker.h
// for the contract (one driving thread, deadlines, peer failures, limits).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "collectives/ucx/buffer.h"
#include "collectives/ucx/deadline.h"
#include "collectives/ucx/ucx_request.h"

namespace mlcp::collectives::ucx {

namespace detail {
struct WorkerCore;
struct EndpointState;
}  // namespace detail

// The active message id every message of this transport uses.
constexpr unsigned kActiveMessageId = 0x6d6c;

struct EndpointOptions {
  // The largest message accepted from the peer (and sent to it). A longer incoming message fails
  // the endpoint before any buffer is allocated for it.
  size_t max_message_bytes = size_t{64} << 20;
  // The most bytes of received messages not yet taken by receive(); beyond, the endpoint fails
  // ("the peer sent more than ... unread bytes"): a peer cannot make the receiver allocate
  // without bound.
  size_t max_queued_bytes = size_t{256} << 20;
  // When set, messages of at least this many bytes are sent by rendezvous
  // (UCP_AM_SEND_FLAG_RNDV) and shorter ones eagerly (UCP_AM_SEND_FLAG_EAGER): an eager message
  // does not wait for the receiver to answer a request to send, so a receiver busy with the
  // previous message does not stall the sender. 0: UCX chooses by its own threshold
  // (UCX_RNDV_THRESH; over TCP it sends tens of KiB by rendezvous).
  size_t rendezvous_threshold = 0;
  // How many buffers given back with recycle() the endpoint keeps to receive into, and their
  // most bytes in all: a message lands in a kept buffer large enough for it instead of fresh
  // memory (whose page faults cost more than the copy on a virtual machine). A sender with a
  // window of W messages in flight needs about W spares at the receiver.
  size_t spare_buffers = 4;
  size_t max_spare_bytes = size_t{64} << 20;
};

struct EndpointStats {
  uint64_t messages_sent = 0, bytes_sent = 0;
  uint64_t messages_received = 0, bytes_received = 0;
  uint64_t rendezvous_received = 0;  // of messages_received, those that came by rendezvous
  uint64_t spares_reused = 0;        // of messages_received, those that landed in a spare buffer
};

class Endpoint {
 public:
  Endpoint() = default;
  // Closes forcibly: unsent messages are dropped, and the peer notices once UCX has torn the
  // connection down, which happens while this worker progresses (or this process exits). Use
  // close() to deliver them and tell the peer at once.
  ~Endpoint();
  Endpoint(Endpoint&&) noexcept;
  Endpoint& operator=(Endpoint&&) noexcept;
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  bool valid() const { return state_ != nullptr; }
  // The peer's address: as dialled (client side) or as the listener saw it (server side).
  const std::string& peer() const;

  // Starts sending `payload` as one message. Throws CommError when the endpoint has failed,
  // InvalidArgument when the payload exceeds max_message_bytes.
  Request sendAsync(Buffer payload);
  // sendAsync, then waits for local completion (the payload left this process).
  void send(Buffer payload, Deadline deadline);

  // The next message, in order. Messages that arrived before a failure are still delivered;
  // then CommError ("connection to PEER failed: UCX's message"). TimeoutError at the deadline.
  Buffer receive(Deadline deadline);
  // The next message if one has arrived (progresses the worker once); never blocks.
  std::optional<Buffer> tryReceive();
  // Gives a buffer (typically a message already handled) back for later messages to land in;
  // kept up to EndpointOptions::spare_buffers and max_spare_bytes, the oldest dropped first.
  void recycle(Buffer buffer);

  bool failed() const;
  // Why the endpoint failed ("" while it has not).
  const std::string& failureReason() const;
  // Fails the endpoint on behalf of a protocol above (a peer that broke the protocol): later
  // waits throw CommError(reason). The connection stays open until close() or destruction.
  void fail(const std::string& reason);

  // Closes gracefully: outstanding sends are delivered and the peer sees the endpoint fail at
  // once (CommError "Connection reset by remote peer"). Throws TimeoutError when that did not
  // finish by `deadline` (UCX finishes the close in the background; the handle is closed
  // anyway). On a failed endpoint it closes forcibly. Idempotent.
  void close(Deadline deadline);

  const EndpointStats& stats() const;

 private:
  friend class Worker;
  friend class Listener;
  Endpoint(std::shared_ptr<detail::WorkerCore> worker, std::shared_ptr<detail::EndpointState> st);
  void requireOpen(const char* what) const;
  std::shared_ptr<detail::WorkerCore> worker_;
  std::shared_ptr<detail::EndpointState> state_;
};

}  // namespace mlcp::collectives::ucx
