// The UCX transport in an MPI program whose point-to-point layer is Open MPI's UCX PML (ctest
// sets OMPI_MCA_pml=ucx; MPI_Init fails if that PML cannot load): both UCX contexts live in the
// same process, and MPI traffic and volunteer-channel traffic interleave on 2 ranks.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "base/error.h"
#include "collectives/ucx/ucx_worker.h"

namespace {

using namespace mlcp::collectives::ucx;
constexpr auto kLong = std::chrono::seconds(60);

Buffer pattern(size_t bytes, uint8_t seed) {
  Buffer b(bytes);
  for (size_t i = 0; i < bytes; ++i) b[i] = static_cast<uint8_t>(i * 31 + seed);
  return b;
}

TEST(UcxWithMpi, ListenerAndEndpointsBesideTheUcxPml) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) GTEST_SKIP() << "run under mpiexec -n 2 (ctest does)";
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  ASSERT_EQ(size, 2);
  if (const char* pml = std::getenv("OMPI_MCA_pml"); rank == 0) {
    std::printf("[ info ] OMPI_MCA_pml=%s\n", pml ? pml : "(unset: Open MPI's choice)");
  }
  int one = 1, sum = 0;
  MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  ASSERT_EQ(sum, 2);

  ContextOptions options;
  options.transports = "tcp";
  options.net_devices = "lo";
  Context context(options);
  Worker worker(context);
  Listener listener;
  Endpoint ep;
  int port = 0;
  if (rank == 0) {
    listener = worker.listen("127.0.0.1:0");
    port = listener.port();
  }
  MPI_Bcast(&port, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    ep = listener.accept(deadlineIn(kLong));
    EXPECT_TRUE(ep.receive(deadlineIn(kLong)) == pattern(1 << 20, 1));
    EXPECT_TRUE(ep.receive(deadlineIn(kLong)) == pattern(16 << 20, 2));
  } else {
    ep = worker.connect("127.0.0.1:" + std::to_string(port));
    ep.send(pattern(1 << 20, 1), deadlineIn(kLong));
    ep.send(pattern(16 << 20, 2), deadlineIn(kLong));
  }
  // MPI traffic while the UCX endpoints are open.
  std::vector<float> data(1 << 20);
  if (rank == 0) {
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i);
    MPI_Send(data.data(), static_cast<int>(data.size()), MPI_FLOAT, 1, 7, MPI_COMM_WORLD);
  } else {
    MPI_Recv(data.data(), static_cast<int>(data.size()), MPI_FLOAT, 0, 7, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
    EXPECT_EQ(data[12345], 12345.f);
  }
  // And UCX traffic again after it.
  if (rank == 0) {
    ep.send(pattern(4 << 20, 3), deadlineIn(kLong));
    EXPECT_THROW(ep.receive(deadlineIn(kLong)), mlcp::CommError);  // rank 1 closes
  } else {
    EXPECT_TRUE(ep.receive(deadlineIn(kLong)) == pattern(4 << 20, 3));
    ep.close(deadlineIn(kLong));
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

}  // namespace
