// One outstanding send (the request ucp_am_send_nbx returned), as a handle.
//
// Contract: isCompleted() never blocks (it progresses the worker once); wait() blocks until the
// send completed or its deadline and throws the send's error (CommError with UCX's message) or
// TimeoutError. The request owns the payload until UCX is done with it: dropping the handle
// early is safe (the buffer lives until UCX completes or cancels the send — closing the endpoint
// does) and frees the UCX request then.
#pragma once

#include <cstddef>
#include <memory>

#include "collectives/ucx/buffer.h"
#include "collectives/ucx/deadline.h"

namespace mlcp::collectives::ucx {

namespace detail {
struct WorkerCore;
struct EndpointState;
struct OpState;
}  // namespace detail

class Request {
 public:
  Request() = default;
  ~Request();
  Request(Request&&) noexcept;
  Request& operator=(Request&&) noexcept;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  bool valid() const { return op_ != nullptr; }
  size_t bytes() const { return bytes_; }
  bool isCompleted();
  void wait(Deadline deadline);
  // After wait() returned: the payload's buffer, to reuse its allocation for the next message.
  Buffer takeBuffer();

 private:
  friend class Endpoint;
  Request(std::shared_ptr<detail::WorkerCore> worker, std::shared_ptr<detail::EndpointState> ep,
          std::shared_ptr<detail::OpState> op, size_t bytes);
  std::shared_ptr<detail::WorkerCore> worker_;
  std::shared_ptr<detail::EndpointState> ep_;
  std::shared_ptr<detail::OpState> op_;
  size_t bytes_ = 0;
};

}  // namespace mlcp::collectives::ucx
