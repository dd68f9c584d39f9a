#include "collectives/mpi/mpi_communicator.h"

#include <fmt/format.h>
#include <sched.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <thread>

#include "base/error.h"
#include "collectives/mpi/mpi_check.h"

namespace mlcp::collectives {

std::string mpiErrorString(int rc) {
  char buf[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  if (MPI_Error_string(rc, buf, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(rc);
  return std::string(buf, static_cast<size_t>(len));
}

void checkMpi(int rc, const std::string& what, int rank) {
  if (rc == MPI_SUCCESS) return;
  throw CommError(fmt::format("{} on rank {}: {}", what, rank, mpiErrorString(rc)));
}

void abortJob(const Communicator& comm, int code, const std::string& why) {
  std::fprintf(stderr, "mlcp: rank %d ends the job: %s\n", comm.rank(), why.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; this keeps [[noreturn]] honest.
}

MPI_Datatype mpiType(DataType t) {
  switch (t) {
    case DataType::kFloat32:
      return MPI_FLOAT;
    case DataType::kFloat64:
      return MPI_DOUBLE;
    case DataType::kInt32:
      return MPI_INT32_T;
    case DataType::kInt64:
      return MPI_INT64_T;
    case DataType::kUInt8:
      return MPI_UINT8_T;
  }
  throw InvalidArgument("unknown DataType");
}

namespace {

MPI_Op mpiOp(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return MPI_SUM;
    case ReduceOp::kMax:
      return MPI_MAX;
    case ReduceOp::kMin:
      return MPI_MIN;
  }
  throw InvalidArgument("unknown ReduceOp");
}

constexpr int64_t kMaxChunk = INT_MAX;

int asInt(int64_t count, const char* what) {
  if (count < 0) throw InvalidArgument(fmt::format("{}: negative count {}", what, count));
  if (count > kMaxChunk) {
    throw InvalidArgument(fmt::format("{}: count {} exceeds INT_MAX", what, count));
  }
  return static_cast<int>(count);
}

// MPI counts are int: calls fn(byte_offset, n) for consecutive chunks of at most INT_MAX
// elements covering `count` — once with n = 0 when count is 0, so a zero-size operation still
// matches its peers.
template <class Fn>
void forEachChunk(int64_t count, DataType type, Fn&& fn) {
  int64_t done = 0;
  do {
    const int n = static_cast<int>(std::min(count - done, kMaxChunk));
    fn(done * static_cast<int64_t>(dataTypeSize(type)), n);
    done += n;
  } while (done < count);
}

// Polls an MPI request to completion. Spins briefly (lowest latency), then yields the core so
// oversubscribed ranks (4 ranks on 2 cores) keep progressing, checking the deadline as it goes.
bool pollUntil(MPI_Request& req, std::chrono::steady_clock::time_point deadline, int* rc) {
  int done = 0;
  for (uint64_t i = 0;; ++i) {
    *rc = MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (*rc != MPI_SUCCESS || done) return true;
    if (i > 2000) {
      if ((i & 63) == 0 && std::chrono::steady_clock::now() >= deadline) return false;
      if (i > 200000)
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      else
        sched_yield();
    }
  }
}

class MpiWork : public Work {
 public:
  MpiWork(MPI_Request req, std::string what, int rank, std::chrono::milliseconds default_timeout)
      : req_(req), what_(std::move(what)), rank_(rank), default_timeout_(default_timeout) {}
  ~MpiWork() override {
    // An abandoned request cannot be freed safely while MPI may still write the buffer; the
    // caller is about to abort the job in that case. Completed requests are MPI_REQUEST_NULL.
  }
  bool isCompleted() override {
    if (req_ == MPI_REQUEST_NULL) return true;
    int done = 0;
    MLCP_MPI_CHECK(MPI_Test(&req_, &done, MPI_STATUS_IGNORE), what_, rank_);
    return done != 0;
  }
  void wait(const CollectiveOptions& opts) override {
    if (req_ == MPI_REQUEST_NULL) return;
    const auto timeout = opts.timeout.count() > 0 ? opts.timeout : default_timeout_;
    int rc = MPI_SUCCESS;
    if (!pollUntil(req_, std::chrono::steady_clock::now() + timeout, &rc)) {
      throw TimeoutError(fmt::format("{} on rank {} did not complete within {:.1f} s", what_, rank_,
                                     timeout.count() / 1000.0));
    }
    MLCP_MPI_CHECK(rc, what_, rank_);
  }

 private:
  MPI_Request req_;
  std::string what_;
  int rank_;
  std::chrono::milliseconds default_timeout_;
};

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm) {
  int rc = MPI_Comm_dup(comm, &comm_);
  if (rc != MPI_SUCCESS) throw CommError("MPI_Comm_dup failed: " + mpiErrorString(rc));
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

MpiCommunicator::MpiCommunicator(MPI_Comm owned, Adopt) : comm_(owned) {
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (comm_ != MPI_COMM_NULL && !finalized) MPI_Comm_free(&comm_);
}

void MpiCommunicator::complete(MPI_Request& req, const std::string& what,
                               const CollectiveOptions& opts) {
  const auto timeout = timeoutOf(opts);
  int rc = MPI_SUCCESS;
  if (!pollUntil(req, std::chrono::steady_clock::now() + timeout, &rc)) {
    throw TimeoutError(fmt::format("{} on rank {} of {} did not complete within {:.1f} s", what,
                                   rank_, size_, timeout.count() / 1000.0));
  }
  MLCP_MPI_CHECK(rc, what, rank_);
}

void MpiCommunicator::allreduce(void* buf, int64_t count, DataType type, ReduceOp op,
                                const CollectiveOptions& opts) {
  auto* p = static_cast<char*>(buf);
  const std::string what =
      fmt::format("allreduce({}) of {} {}", reduceOpName(op), count, dataTypeName(type));
  forEachChunk(count, type, [&](int64_t offset, int n) {
    MPI_Request req;
    MLCP_MPI_CHECK(
        MPI_Iallreduce(MPI_IN_PLACE, p + offset, n, mpiType(type), mpiOp(op), comm_, &req), what,
        rank_);
    complete(req, what, opts);
  });
}

void MpiCommunicator::reduceScatter(const void* send, void* recv, int64_t recv_count, DataType type,
                                    ReduceOp op, const CollectiveOptions& opts) {
  const std::string what = fmt::format("reduce-scatter({}) of {} {} per rank", reduceOpName(op),
                                       recv_count, dataTypeName(type));
  MPI_Request req;
  MLCP_MPI_CHECK(MPI_Ireduce_scatter_block(send, recv, asInt(recv_count, "reduceScatter"),
                                           mpiType(type), mpiOp(op), comm_, &req),
                 what, rank_);
  complete(req, what, opts);
}

void MpiCommunicator::allgather(const void* send, void* recv, int64_t count, DataType type,
                                const CollectiveOptions& opts) {
  const std::string what = fmt::format("allgather of {} {} per rank", count, dataTypeName(type));
  MPI_Request req;
  const int n = asInt(count, "allgather");
  MLCP_MPI_CHECK(MPI_Iallgather(send, n, mpiType(type), recv, n, mpiType(type), comm_, &req), what,
                 rank_);
  complete(req, what, opts);
}

void MpiCommunicator::broadcast(void* buf, int64_t count, DataType type, int root,
                                const CollectiveOptions& opts) {
  auto* p = static_cast<char*>(buf);
  const std::string what =
      fmt::format("broadcast of {} {} from rank {}", count, dataTypeName(type), root);
  forEachChunk(count, type, [&](int64_t offset, int n) {
    MPI_Request req;
    MLCP_MPI_CHECK(MPI_Ibcast(p + offset, n, mpiType(type), root, comm_, &req), what, rank_);
    complete(req, what, opts);
  });
}

void MpiCommunicator::send(const void* buf, int64_t count, DataType type, int peer, int tag,
                           const CollectiveOptions& opts) {
  const auto* p = static_cast<const char*>(buf);
  forEachChunk(count, type,
               [&](int64_t offset, int n) { isend(p + offset, n, type, peer, tag)->wait(opts); });
}

void MpiCommunicator::recv(void* buf, int64_t count, DataType type, int peer, int tag,
                           const CollectiveOptions& opts) {
  auto* p = static_cast<char*>(buf);
  forEachChunk(count, type,
               [&](int64_t offset, int n) { irecv(p + offset, n, type, peer, tag)->wait(opts); });
}

std::unique_ptr<Work> MpiCommunicator::isend(const void* buf, int64_t count, DataType type,
                                             int peer, int tag) {
  const std::string what =
      fmt::format("send of {} {} to rank {} (tag {})", count, dataTypeName(type), peer, tag);
  MPI_Request req;
  MLCP_MPI_CHECK(MPI_Isend(buf, asInt(count, "isend"), mpiType(type), peer, tag, comm_, &req), what,
                 rank_);
  return std::make_unique<MpiWork>(req, what, rank_, defaultTimeout());
}

std::unique_ptr<Work> MpiCommunicator::irecv(void* buf, int64_t count, DataType type, int peer,
                                             int tag) {
  const std::string what =
      fmt::format("receive of {} {} from rank {} (tag {})", count, dataTypeName(type), peer, tag);
  MPI_Request req;
  MLCP_MPI_CHECK(MPI_Irecv(buf, asInt(count, "irecv"), mpiType(type), peer, tag, comm_, &req), what,
                 rank_);
  return std::make_unique<MpiWork>(req, what, rank_, defaultTimeout());
}

void MpiCommunicator::barrier(const CollectiveOptions& opts) {
  MPI_Request req;
  MLCP_MPI_CHECK(MPI_Ibarrier(comm_, &req), "barrier", rank_);
  complete(req, "barrier", opts);
}

std::unique_ptr<Communicator> MpiCommunicator::split(int color, int key) {
  MPI_Comm out = MPI_COMM_NULL;
  MLCP_MPI_CHECK(MPI_Comm_split(comm_, color < 0 ? MPI_UNDEFINED : color, key, &out),
                 fmt::format("split(color {}, key {})", color, key), rank_);
  if (out == MPI_COMM_NULL) return nullptr;
  auto c = std::unique_ptr<MpiCommunicator>(new MpiCommunicator(out, Adopt{}));
  c->setDefaultTimeout(defaultTimeout());
  return c;
}

}  // namespace mlcp::collectives
