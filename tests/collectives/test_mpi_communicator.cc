// MpiCommunicator against a reference computed locally: every rank's input is a known function
// of (rank, index), so each rank can compute what every collective must return. Sizes 0, 1, odd
// and large (above the eager/rendezvous switch and above what one algorithm handles).
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "base/error.h"
#include "collectives/mpi/mpi_communicator.h"

namespace mlcp::collectives {
namespace {

const std::vector<int64_t> kSizes = {0, 1, 7, 1001, (1 << 20) + 3};

// Integer-valued doubles and floats below 2^20: sums over 4 ranks are exact in any order, so
// the reference is unambiguous.
double valueOf(int rank, int64_t i) {
  return static_cast<double>((i * 37 + rank * 101) % 4099) - 2000;
}

class MpiCommunicatorTest : public testing::Test {
 protected:
  MpiCommunicator comm{MPI_COMM_WORLD};
  int p = comm.size(), r = comm.rank();
};

TEST_F(MpiCommunicatorTest, ReportsRankAndSize) {
  int wr = 0, ws = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &wr);
  MPI_Comm_size(MPI_COMM_WORLD, &ws);
  EXPECT_EQ(comm.rank(), wr);
  EXPECT_EQ(comm.size(), ws);
  EXPECT_EQ(comm.backendName(), "mpi");
}

TEST_F(MpiCommunicatorTest, AllreduceSumMaxMinMatchReference) {
  for (int64_t n : kSizes) {
    std::vector<double> sum(n), mx(n), mn(n);
    std::vector<float> fsum(n);
    std::vector<int64_t> isum(n);
    for (int64_t i = 0; i < n; ++i) {
      sum[i] = mx[i] = mn[i] = valueOf(r, i);
      fsum[i] = static_cast<float>(valueOf(r, i));
      isum[i] = static_cast<int64_t>(valueOf(r, i)) << 33;
    }
    comm.allreduce(sum.data(), n, DataType::kFloat64, ReduceOp::kSum);
    comm.allreduce(mx.data(), n, DataType::kFloat64, ReduceOp::kMax);
    comm.allreduce(mn.data(), n, DataType::kFloat64, ReduceOp::kMin);
    comm.allreduce(fsum.data(), n, DataType::kFloat32, ReduceOp::kSum);
    comm.allreduce(isum.data(), n, DataType::kInt64, ReduceOp::kSum);
    for (int64_t i = 0; i < n; ++i) {
      double s = 0, hi = -1e300, lo = 1e300;
      for (int q = 0; q < p; ++q) {
        s += valueOf(q, i);
        hi = std::max(hi, valueOf(q, i));
        lo = std::min(lo, valueOf(q, i));
      }
      ASSERT_EQ(sum[i], s) << "n=" << n << " i=" << i;
      ASSERT_EQ(mx[i], hi) << "n=" << n << " i=" << i;
      ASSERT_EQ(mn[i], lo) << "n=" << n << " i=" << i;
      ASSERT_EQ(fsum[i], static_cast<float>(s)) << "n=" << n << " i=" << i;
      ASSERT_EQ(isum[i], static_cast<int64_t>(s) << 33) << "n=" << n << " i=" << i;
    }
  }
}

TEST_F(MpiCommunicatorTest, ReduceScatterGivesEachRankItsBlock) {
  for (int64_t n : kSizes) {
    std::vector<int64_t> send(static_cast<size_t>(n * p)), recv(static_cast<size_t>(n), -1);
    for (int64_t i = 0; i < n * p; ++i) send[i] = static_cast<int64_t>(valueOf(r, i));
    comm.reduceScatter(send.data(), recv.data(), n, DataType::kInt64, ReduceOp::kSum);
    for (int64_t i = 0; i < n; ++i) {
      int64_t s = 0;
      for (int q = 0; q < p; ++q) s += static_cast<int64_t>(valueOf(q, r * n + i));
      ASSERT_EQ(recv[i], s) << "n=" << n << " i=" << i;
    }
  }
}

TEST_F(MpiCommunicatorTest, AllgatherConcatenatesInRankOrder) {
  for (int64_t n : kSizes) {
    std::vector<float> send(n), recv(static_cast<size_t>(n * p), -1.0f);
    for (int64_t i = 0; i < n; ++i) send[i] = static_cast<float>(valueOf(r, i));
    comm.allgather(send.data(), recv.data(), n, DataType::kFloat32);
    for (int q = 0; q < p; ++q) {
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(recv[q * n + i], static_cast<float>(valueOf(q, i))) << "n=" << n;
      }
    }
  }
}

TEST_F(MpiCommunicatorTest, BroadcastFromEveryRoot) {
  for (int64_t n : kSizes) {
    for (int root = 0; root < p; ++root) {
      std::vector<uint8_t> buf(n);
      for (int64_t i = 0; i < n; ++i) buf[i] = static_cast<uint8_t>((i + r * 31) & 0xff);
      comm.broadcast(buf.data(), n, DataType::kUInt8, root);
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(buf[i], static_cast<uint8_t>((i + root * 31) & 0xff)) << "n=" << n;
      }
    }
  }
}

TEST_F(MpiCommunicatorTest, SendRecvAroundARing) {
  const int next = (r + 1) % p, prev = (r + p - 1) % p;
  for (int64_t n : kSizes) {
    std::vector<double> out(n), in(n, -1);
    for (int64_t i = 0; i < n; ++i) out[i] = valueOf(r, i);
    // Post the receive first so a one-rank ring (send to self) cannot deadlock.
    auto rx = comm.irecv(in.data(), n, DataType::kFloat64, prev, 5);
    auto tx = comm.isend(out.data(), n, DataType::kFloat64, next, 5);
    tx->wait();
    rx->wait();
    EXPECT_TRUE(rx->isCompleted());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(in[i], valueOf(prev, i)) << "n=" << n;
  }
  if (p >= 2) {  // blocking pair: even ranks send first, odd ranks receive first
    std::vector<int32_t> v(3, r), got(3, -1);
    const int peer = r % 2 == 0 ? r + 1 : r - 1;
    if (peer < p) {
      if (r % 2 == 0) {
        comm.send(v.data(), 3, DataType::kInt32, peer, 9);
        comm.recv(got.data(), 3, DataType::kInt32, peer, 9);
      } else {
        comm.recv(got.data(), 3, DataType::kInt32, peer, 9);
        comm.send(v.data(), 3, DataType::kInt32, peer, 9);
      }
      EXPECT_EQ(got, std::vector<int32_t>(3, peer));
    }
  }
  comm.barrier();
}

TEST_F(MpiCommunicatorTest, SplitGroupsByColorOrderedByKey) {
  // Even and odd ranks, ordered by descending world rank.
  auto sub = comm.split(r % 2, -r);
  ASSERT_NE(sub, nullptr);
  const int members = (p - r % 2 + 1) / 2;
  EXPECT_EQ(sub->size(), members);
  int64_t v = r;
  sub->allreduce(&v, 1, DataType::kInt64, ReduceOp::kMax);
  EXPECT_EQ(v, (p - 1) % 2 == r % 2 ? p - 1 : p - 2);
  EXPECT_EQ(sub->rank(), (p - 1 - r) / 2);  // same-parity ranks above r come first
  int64_t top = r;  // rank 0 of the sub-communicator is its highest world rank (key -r)
  sub->broadcast(&top, 1, DataType::kInt64, 0);
  EXPECT_EQ(top, v);
  // A negative color leaves a rank out.
  auto none = comm.split(r == 0 ? -1 : 0, r);
  if (r == 0)
    EXPECT_EQ(none, nullptr);
  else {
    ASSERT_NE(none, nullptr);
    EXPECT_EQ(none->size(), p - 1);
  }
}

TEST_F(MpiCommunicatorTest, ReceiveThatNeverArrivesTimesOut) {
  // Each rank alone in its own communicator waits for a message nobody sent.
  auto self = comm.split(r, 0);
  static int32_t slot = 0;  // outlives the abandoned request
  try {
    self->recv(&slot, 1, DataType::kInt32, 0, 77,
               CollectiveOptions{std::chrono::milliseconds(200)});
    FAIL() << "recv returned without a sender";
  } catch (const TimeoutError& e) {
    EXPECT_NE(std::string(e.what()).find("did not complete within 0.2 s"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("receive of 1 int32 from rank 0 (tag 77)"),
              std::string::npos)
        << e.what();
  }
  // Complete the abandoned receive so MPI_Finalize has nothing pending.
  int32_t v = 42;
  self->send(&v, 1, DataType::kInt32, 0, 77);
  for (int i = 0; i < 500 && slot != 42; ++i) self->barrier();  // drives MPI progress
  EXPECT_EQ(slot, 42);
}

TEST_F(MpiCommunicatorTest, ErrorsCarryMpisOwnMessage) {
  int32_t v = 1;
  try {
    comm.send(&v, 1, DataType::kInt32, p + 3, 1);
    FAIL() << "send to a rank outside the group succeeded";
  } catch (const CommError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("MPI_ERR_RANK"), std::string::npos) << what;
    EXPECT_NE(what.find("rank " + std::to_string(r)), std::string::npos) << what;
  }
  comm.barrier();
}

}  // namespace
}  // namespace mlcp::collectives
