// bench_exact_reduce — the exact placement-independent sum (collectives/exact_sum.h) vs a plain
// float32 MPI_Allreduce(SUM) of the same buffer, measured side by side in one run.
//
//   mpirun -n 2 bench_exact_reduce [--bytes B ...] [--seconds S]
//   bench_exact_reduce --segments [--seconds S]
//
// Each rank contributes one buffer (M = ranks contributions), as a data-parallel step with one
// micro-batch per rank does. Both sides run on the same communicator and the same data; the
// time per call is the median over repetitions, each started after a barrier and measured as
// the slowest rank's time. Target (issue #2): exact / allreduce <= 1.5 at 64 MiB.
//
// --segments: the reduce alone on one process (each rank on its own), as the trainer calls it
// for the 235K-parameter MLP: 4 micro-batch contributions, each held as 6 separately
// allocated gradient tensors (784*256, 256, 256*128, 128, 128*10, 10 floats); and the
// streaming form's critical path (ExactSum::add, reduceAdded): what is left after the last
// micro-batch.
#include <fmt/format.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_cli.h"
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

// The --segments mode; rank 0 prints.
void benchSegments(mlcp::collectives::MpiCommunicator& world, double budget_s) {
  const std::vector<int64_t> layout = {784 * 256, 256, 256 * 128, 128, 128 * 10, 10};
  constexpr int kContributions = 4;
  auto self = world.split(world.rank(), 0);
  std::mt19937 gen(1234);
  std::normal_distribution<float> normal(0.f, 1e-3f);
  int64_t total = 0;
  std::vector<std::vector<float>> flat(kContributions);
  for (int64_t n : layout) total += n;
  for (auto& c : flat) {
    c.resize(static_cast<size_t>(total));
    for (float& v : c) v = normal(gen);
  }
  std::vector<const float*> flat_ptrs;
  for (auto& c : flat) flat_ptrs.push_back(c.data());
  std::vector<float> out(static_cast<size_t>(total));
  // The same values as separately allocated tensors, and separate output tensors.
  std::vector<std::vector<std::vector<float>>> tensors(kContributions);
  std::vector<std::vector<const float*>> tensor_ptrs(kContributions);
  std::vector<std::vector<float>> out_tensors;
  std::vector<float*> out_ptrs;
  for (int c = 0; c < kContributions; ++c) {
    int64_t offset = 0;
    for (int64_t n : layout) {
      tensors[c].emplace_back(flat[c].begin() + offset, flat[c].begin() + offset + n);
      tensor_ptrs[c].push_back(tensors[c].back().data());
      offset += n;
    }
  }
  for (int64_t n : layout) out_tensors.emplace_back(static_cast<size_t>(n));
  for (auto& t : out_tensors) out_ptrs.push_back(t.data());
  mlcp::collectives::ExactSum exact(*self, layout);
  auto time = [&](auto&& fn) {
    fn();  // warm
    std::vector<double> times;
    const auto start = Clock::now();
    while (times.size() < 20 ||
           (std::chrono::duration<double>(Clock::now() - start).count() < budget_s &&
            times.size() < 100000)) {
      const auto a = Clock::now();
      fn();
      times.push_back(std::chrono::duration<double>(Clock::now() - a).count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
  };
  const double flat_s = time([&] { exact.reduce(flat_ptrs, kContributions, 0.25, out.data()); });
  const double seg_s = time([&] { exact.reduce(tensor_ptrs, kContributions, 0.25, out_ptrs); });
  // Streaming, as the trainer calls it: the first contributions added as their micro-batches
  // end, the folds given the time a micro-batch computes (2 ms, not timed), then the timed
  // critical path: reduceAdded() with the last contribution, written over it in place.
  std::vector<double> streaming;
  int resummed = 0;
  for (int rep = 0; rep < 400; ++rep) {
    for (int c = 0; c + 1 < kContributions; ++c) exact.add(tensor_ptrs[c]);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::vector<float*> in_place;
    for (auto& t : tensors[kContributions - 1]) in_place.push_back(t.data());
    const auto a = Clock::now();
    exact.reduceAdded(tensor_ptrs[kContributions - 1], kContributions, 0.25, in_place);
    streaming.push_back(std::chrono::duration<double>(Clock::now() - a).count());
    resummed += exact.resummedSegments();
    // Put the last contribution back (the in-place result replaced it).
    int64_t offset = 0;
    for (size_t k = 0; k < layout.size(); ++k) {
      std::copy(flat[kContributions - 1].begin() + offset,
                flat[kContributions - 1].begin() + offset + layout[k],
                tensors[kContributions - 1][k].begin());
      offset += layout[k];
    }
  }
  std::sort(streaming.begin(), streaming.end());
  if (world.rank() == 0) {
    fmt::print(
        "bench_exact_reduce --segments: 1 process, {} contributions of {} floats in {} "
        "segments, median ms per reduce\n",
        kContributions, total, layout.size());
    fmt::print("{:>16} {:>10.3f}\n{:>16} {:>10.3f}\n", "flat buffers", flat_s * 1e3, "tensors",
               seg_s * 1e3);
    fmt::print(
        "{:>16} {:>10.3f}   (reduceAdded after add() of the first {}; {} segments "
        "resummed in {} calls)\n",
        "streaming", streaming[streaming.size() / 2] * 1e3, kContributions - 1, resummed,
        streaming.size());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> sizes;
  double budget_s = 2.0;  // per size and method
  bool segments = false;
  CLI::App app{
      "The exact placement-independent sum against float32 MPI_Allreduce (run under mpirun)",
      "bench_exact_reduce"};
  app.add_option("--bytes", sizes, "Message sizes in bytes (repeatable; default 4 KiB .. 64 MiB)");
  app.add_option("--seconds", budget_s, "Time budget per size and method")
      ->check(CLI::PositiveNumber);
  app.add_flag("--segments", segments, "Time the streaming critical path of a segmented sum");
  return mlcp::bench::runBenchmark(app, argc, argv, [&] {
    if (sizes.empty()) sizes = {4 << 10, 256 << 10, 4 << 20, 64 << 20};

    mlcp::collectives::MpiRuntime mpi;
    mlcp::collectives::MpiCommunicator world(MPI_COMM_WORLD);
    if (segments) {
      benchSegments(world, budget_s);
      return 0;
    }
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
      const double one =
          std::max(medianSeconds(1,
                                 [&] {
                                   MPI_Allreduce(MPI_IN_PLACE, work.data(), static_cast<int>(n),
                                                 MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
                                 }),
                   medianSeconds(1, [&] { exact.reduce({data.data()}, ranks, 1.0, out.data()); }));
      int reps = static_cast<int>(std::clamp(budget_s / std::max(one, 1e-6), 5.0, 2000.0));
      MPI_Bcast(&reps, 1, MPI_INT, 0, MPI_COMM_WORLD);

      const double plain = medianSeconds(reps, [&] {
        std::copy(data.begin(), data.end(), work.begin());
        MPI_Allreduce(MPI_IN_PLACE, work.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                      MPI_COMM_WORLD);
      });
      const double ex =
          medianSeconds(reps, [&] { exact.reduce({data.data()}, ranks, 1.0, out.data()); });
      if (rank == 0) {
        fmt::print("{:>10} {:>16.3f} {:>16.3f} {:>7.2f}x\n", humanBytes(bytes), plain * 1e3,
                   ex * 1e3, ex / plain);
      }
    }
    return 0;
  });
}
