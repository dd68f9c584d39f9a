// Communicator over an MPI communicator (Open MPI; UCX or ob1 underneath).
//
// Every blocking call is the MPI-3 non-blocking call completed by polling MPI_Test against the
// deadline, so a peer that stops answering ends in TimeoutError instead of a hang. Errors are
// returned (MPI_ERRORS_RETURN on the owned communicator) and thrown as CommError with MPI's
// message. Counts above INT_MAX are split into chunks where the operation is element-wise
// (allreduce, broadcast, send, recv); allgather and reduceScatter refuse them.
#pragma once

#include <mpi.h>

#include "collectives/communicator.h"

namespace mlcp::collectives {

MPI_Datatype mpiType(DataType t);

class MpiCommunicator : public Communicator {
 public:
  // Duplicates `comm` (the caller keeps its own handle); the duplicate is freed on destruction.
  explicit MpiCommunicator(MPI_Comm comm);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backendName() const override { return "mpi"; }
  MPI_Comm handle() const { return comm_; }

  void allreduce(void* buf, int64_t count, DataType type, ReduceOp op,
                 const CollectiveOptions& opts = {}) override;
  void reduceScatter(const void* send, void* recv, int64_t recv_count, DataType type, ReduceOp op,
                     const CollectiveOptions& opts = {}) override;
  void allgather(const void* send, void* recv, int64_t count, DataType type,
                 const CollectiveOptions& opts = {}) override;
  void broadcast(void* buf, int64_t count, DataType type, int root,
                 const CollectiveOptions& opts = {}) override;
  void send(const void* buf, int64_t count, DataType type, int peer, int tag,
            const CollectiveOptions& opts = {}) override;
  void recv(void* buf, int64_t count, DataType type, int peer, int tag,
            const CollectiveOptions& opts = {}) override;
  std::unique_ptr<Work> isend(const void* buf, int64_t count, DataType type, int peer,
                              int tag) override;
  std::unique_ptr<Work> irecv(void* buf, int64_t count, DataType type, int peer, int tag) override;
  void barrier(const CollectiveOptions& opts = {}) override;
  std::unique_ptr<Communicator> split(int color, int key) override;

 private:
  struct Adopt {};
  MpiCommunicator(MPI_Comm owned, Adopt);
  // Polls `req` until done or the deadline; throws TimeoutError describing `what`.
  void complete(MPI_Request& req, const std::string& what, const CollectiveOptions& opts);

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
};

}  // namespace mlcp::collectives
