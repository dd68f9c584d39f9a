#include "collectives/ucx/ucx_request.h"

#include <fmt/format.h>

#include "base/error.h"
#include "collectives/ucx/ucx_check.h"
#include "collectives/ucx/ucx_core.h"

namespace mlcp::collectives::ucx {

Request::Request(std::shared_ptr<detail::WorkerCore> worker,
                 std::shared_ptr<detail::EndpointState> ep, std::shared_ptr<detail::OpState> op,
                 size_t bytes)
    : worker_(std::move(worker)), ep_(std::move(ep)), op_(std::move(op)), bytes_(bytes) {}

// The UCX request itself is freed by its completion callback (ucx_core.cc), which also holds
// the payload until then; the handle only drops its share.
Request::~Request() = default;
Request::Request(Request&&) noexcept = default;
Request& Request::operator=(Request&&) noexcept = default;

bool Request::isCompleted() {
  require(op_ != nullptr, "Request::isCompleted on an empty request");
  if (!op_->done) worker_->progress();
  return op_->done;
}

void Request::wait(Deadline deadline) {
  require(op_ != nullptr, "Request::wait on an empty request");
  if (!worker_->progressUntil([&] { return op_->done; }, deadline)) {
    throw TimeoutError(fmt::format("sending {} bytes to {} did not complete within the deadline",
                                   bytes_, ep_->peer));
  }
  if (op_->status != UCS_OK) {
    std::string why = ucsStatusString(op_->status);
    if (ep_->failed) why += "; " + ep_->failure;
    throw CommError(fmt::format("sending {} bytes to {}: {}", bytes_, ep_->peer, why));
  }
}

Buffer Request::takeBuffer() {
  require(op_ != nullptr && op_->done, "Request::takeBuffer before the request completed");
  return std::move(op_->buffer);
}

}  // namespace mlcp::collectives::ucx
