// The one interface every transport implements (MPI now; NCCL and UCX beside it later).
//
// Contract:
// - A Communicator is a fixed group of `size()` processes; `rank()` is this process's index.
// - Collectives are called by every rank of the group in the same order with matching
//   arguments (counts, types, roots). Counts are element counts (int64_t); zero is allowed.
// - One thread at a time calls into a Communicator (ranks may use several threads, but calls
//   are serialised by the caller).
// - Every call takes CollectiveOptions; a call that has not completed by its deadline throws
//   TimeoutError. After a timeout or a CommError the group is unusable: the caller ends the job
//   (abortJob) — MPI cannot recover a communicator whose collective was abandoned.
// - Errors carry the backend's own message, the operation, the count and the rank.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "collectives/data_type.h"

namespace mlcp::collectives {

struct CollectiveOptions {
  // Zero means "use the communicator's default timeout".
  std::chrono::milliseconds timeout{0};
};

// An outstanding non-blocking operation. isCompleted() never blocks; wait() blocks until
// completion or the deadline and throws the stored error or TimeoutError.
class Work {
 public:
  virtual ~Work() = default;
  virtual bool isCompleted() = 0;
  virtual void wait(const CollectiveOptions& opts = {}) = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backendName() const = 0;

  // The timeout used when CollectiveOptions.timeout is zero (300 s unless set).
  void setDefaultTimeout(std::chrono::milliseconds t) { default_timeout_ = t; }
  std::chrono::milliseconds defaultTimeout() const { return default_timeout_; }

  // In place: every rank ends with op over all ranks' buffers.
  virtual void allreduce(void* buf, int64_t count, DataType type, ReduceOp op,
                         const CollectiveOptions& opts = {}) = 0;
  // `send` holds size()*recv_count elements; rank r receives op over block r of every rank.
  virtual void reduceScatter(const void* send, void* recv, int64_t recv_count, DataType type,
                             ReduceOp op, const CollectiveOptions& opts = {}) = 0;
  // `recv` receives size()*count elements: rank r's `send` at block r.
  virtual void allgather(const void* send, void* recv, int64_t count, DataType type,
                         const CollectiveOptions& opts = {}) = 0;
  virtual void broadcast(void* buf, int64_t count, DataType type, int root,
                         const CollectiveOptions& opts = {}) = 0;
  virtual void send(const void* buf, int64_t count, DataType type, int peer, int tag,
                    const CollectiveOptions& opts = {}) = 0;
  virtual void recv(void* buf, int64_t count, DataType type, int peer, int tag,
                    const CollectiveOptions& opts = {}) = 0;
  // Non-blocking point-to-point; the buffer must stay valid until the Work completes.
  virtual std::unique_ptr<Work> isend(const void* buf, int64_t count, DataType type, int peer,
                                      int tag) = 0;
  virtual std::unique_ptr<Work> irecv(void* buf, int64_t count, DataType type, int peer,
                                      int tag) = 0;
  virtual void barrier(const CollectiveOptions& opts = {}) = 0;
  // Ranks with the same color form a new communicator, ordered by (key, rank). A negative
  // color returns nullptr on that rank. Collective over this communicator.
  virtual std::unique_ptr<Communicator> split(int color, int key) = 0;

 protected:
  std::chrono::milliseconds timeoutOf(const CollectiveOptions& o) const {
    return o.timeout.count() > 0 ? o.timeout : default_timeout_;
  }

 private:
  std::chrono::milliseconds default_timeout_{std::chrono::seconds(300)};
};

// Prints `why` on stderr and ends the whole job (every rank of every communicator) with `code`.
[[noreturn]] void abortJob(const Communicator& comm, int code, const std::string& why);

}  // namespace mlcp::collectives
