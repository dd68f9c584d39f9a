// bench_exact_reduce — the exact placement-independent sum (collectives/exact_sum.h) vs a plain
// float32 MPI_Allreduce(SUM) of the same buffer, measured side by side in one run.
//
//   mpirun -n 2 bench_exact_reduce [--bytes B ...] [--seconds S]
//
// Each rank contributes one buffer (M = ranks contributions), as a data-parallel step with one
// micro-batch per rank does. Both sides run on the same communicator and the same data; the
// time per call is the median over repetitions, each started after a barrier and measured as
// the slowest rank's time. Target (issue #2): exact / allreduce <= 1.5 at 64 MiB.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "collectives/exact_sum.h"
#include "collectives/mpi/mpi_communicator.h"
#include "collectives/mpi/mpi_runtime.h"

namespace {

using Clock = std::chrono::steady_clock;

// Median over `reps` calls of the slowest rank's wall time for fn().
template <class Fn>
double medianSeconds(int reps, Fn&& fn) {
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    MPI_Barrier(MPI_COMM_WORLD);
    const auto t0 = Clock::now();
    fn();
    double t = std::chrono::duration<double>(Clock::now() - t0).count();
    MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    times.push_back(t);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

std::string humanBytes(int64_t b) {
  if (b >= (1 << 20)) return fmt::format("{} MiB", b >> 20);
  return fmt::format("{} KiB", b >> 10);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> sizes;
  double budget_s = 2.0;  // per size and method
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--bytes" && i + 1 < argc) sizes.push_back(std::stoll(argv[++i]));
    else if (a == "--seconds" && i + 1 < argc) budget_s = std::stod(argv[++i]);
    else {
      fmt::print(stderr, "usage: bench_exact_reduce [--bytes B ...] [--seconds S]\n");
      return 2;
    }
  }
  if (sizes.empty()) sizes = {4 << 10, 256 << 10, 4 << 20, 64 << 20};

  mlcp::collectives::MpiRuntime mpi;
  mlcp::collectives::MpiCommunicator world(MPI_COMM_WORLD);
  const int rank = world.rank(), ranks = world.size();
  if (rank == 0) {
    fmt::print("bench_exact_reduce: {} ranks, PML {}, median of repetitions (slowest rank)\n",
               ranks, mpi.pmlName());
    fmt::print("{:>10} {:>16} {:>16} {:>8}\n", "size", "allreduce ms", "exact ms", "ratio");
  }
  std::mt19937 gen(1234 + static_cast<unsigned>(rank));
  std::normal_distribution<float> normal(0.f, 1e-3f);
  for (int64_t bytes : sizes) {
    const int64_t n = bytes / static_cast<int64_t>(sizeof(float));
    std::vector<float> data(static_cast<size_t>(n)), work(data.size()), out(data.size());
    for (float& v : data) v = normal(gen);
    mlcp::collectives::ExactSum exact(world, {n});

    // Calibrate the repetition count from one warm call of each (the slower one decides).
    work = data;
    MPI_Allreduce(MPI_IN_PLACE, work.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                  MPI_COMM_WORLD);
    const double one = std::max(medianSeconds(1, [&] {
      MPI_Allreduce(MPI_IN_PLACE, work.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
    }), medianSeconds(1, [&] { exact.reduce({data.data()}, ranks, 1.0, out.data()); }));
    int reps = static_cast<int>(std::clamp(budget_s / std::max(one, 1e-6), 5.0, 2000.0));
    MPI_Bcast(&reps, 1, MPI_INT, 0, MPI_COMM_WORLD);

    const double plain = medianSeconds(reps, [&] {
      std::copy(data.begin(), data.end(), work.begin());
      MPI_Allreduce(MPI_IN_PLACE, work.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
    });
    const double ex = medianSeconds(reps, [&] {
      exact.reduce({data.data()}, ranks, 1.0, out.data());
    });
    if (rank == 0) {
      fmt::print("{:>10} {:>16.3f} {:>16.3f} {:>7.2f}x\n", humanBytes(bytes), plain * 1e3,
                 ex * 1e3, ex / plain);
    }
  }
  return 0;
}
