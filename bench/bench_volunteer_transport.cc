// bench_volunteer_transport — the volunteer channel's throughput: encrypted session messages
// (volunteer/session.h) against unencrypted UCX active messages (collectives/ucx) and MPI
// point-to-point, between the same two processes over the same link, measured in one run.
//
//   mpirun -n 2 --mca pml ob1 --mca btl self,tcp --mca btl_tcp_if_include lo
//       bench_volunteer_transport [--bytes B ...] [--seconds S] [--window W] [--methods M ...]
// On a link of a given speed rather than loopback's memory speed: bench/bench_volunteer_link.sh.
//
// Rank 0 sends (the volunteer: its Contributions are the large messages), rank 1 receives (the
// job). Each repetition sends `count` messages of one size with up to `window` in flight, then
// waits for a one-message reply: throughput = count * size / that time, median of repetitions.
//   MPI     MPI_Isend/MPI_Irecv (the mca flags above put it on TCP over lo too; without them
//           Open MPI uses shared memory and the comparison is not of one link)
//   UCX AM  Endpoint::sendAsync of the raw bytes (buffers reused, as a transport would)
//   sealed  Session::sendAsync of a Contribution carrying the bytes as one float32 tensor,
//           AEAD-sealed (buffers reused); the receiver opens and decodes each message
// Also printed: seal + open on one core without any transport (the cipher's own cost).
// Target (issue #16): sealed >= 0.8x UCX AM.
#include <fmt/format.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "bench/bench_cli.h"
#include "bench/bench_stats.h"
#include "collectives/mpi/mpi_runtime.h"
#include "collectives/ucx/ucx_worker.h"
#include "volunteer/session.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace ucx = mlcp::collectives::ucx;
namespace vol = mlcp::volunteer;

constexpr auto kWait = std::chrono::seconds(120);
const std::string kJob = "bench-volunteer-transport";

std::string humanBytes(int64_t b) {
  if (b >= (1 << 20)) return fmt::format("{} MiB", b >> 20);
  return fmt::format("{} KiB", b >> 10);
}

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// One repetition: returns the sender's seconds on rank 0 (0 on rank 1).
using Repetition = std::function<double(int count)>;

// Repeats `run` until `budget_s` has passed (at least 3 times); median bytes/s on rank 0.
double throughput(const Repetition& run, int count, int64_t bytes, double budget_s, int rank) {
  run(std::max(1, count / 4));  // warm-up (connections, allocations)
  std::vector<double> rates;
  const auto start = Clock::now();
  for (;;) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double s = run(count);
    if (rank == 0) rates.push_back(static_cast<double>(count) * bytes / s);
    int more = rank == 0 && (rates.size() < 3 || since(start) < budget_s) ? 1 : 0;
    MPI_Bcast(&more, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!more) break;
  }
  return rank == 0 ? mlcp::bench::median(rates) : 0.0;
}

vol::Contribution contributionOf(int64_t bytes) {
  vol::Contribution c;
  c.step = 1;
  c.micro_batch = 2;
  vol::TensorPiece t;
  t.shape = {static_cast<uint64_t>(bytes / 4)};
  t.data.resize(static_cast<size_t>(bytes / 4));
  for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = static_cast<float>(i % 1000) * 1e-3f;
  c.tensors.push_back(std::move(t));
  return c;
}

// Seal + open on one core, no transport: the cipher's own throughput (bytes of tensor data/s).
double sealOpenRate(int64_t bytes, double budget_s) {
  const auto job = mlcp::verify::KeyPair::fromSeed(std::array<uint8_t, 32>{1});
  const auto volunteer = mlcp::verify::KeyPair::fromSeed(std::array<uint8_t, 32>{2});
  vol::HandshakeInitiator init(volunteer, kJob);
  vol::HandshakeResponder resp(job, kJob, [](const mlcp::verify::PublicKey&) { return true; });
  const vol::Buffer hello = init.start();
  const auto answer = resp.onClientHello(hello.data(), hello.size());
  const vol::Buffer auth = init.onServerHello(answer.frame.data(), answer.frame.size());
  auto verdict = resp.onClientAuth(auth.data(), auth.size());
  vol::SecureChannel sender = init.finish(std::move(verdict.frame));
  vol::SecureChannel receiver = resp.takeChannel();
  const vol::Contribution c = contributionOf(bytes);
  vol::Buffer storage;
  std::vector<double> rates;
  const auto start = Clock::now();
  while (rates.size() < 3 || since(start) < budget_s / 4) {
    const auto t0 = Clock::now();
    vol::Buffer frame = sender.seal(c, std::move(storage));
    receiver.openInPlace(frame);
    rates.push_back(static_cast<double>(bytes) / since(t0));
    storage = std::move(frame);
  }
  return mlcp::bench::median(rates);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> sizes;
  double budget_s = 2.0;
  int window = 8;
  std::string transports = "tcp", devices = "lo";
  int64_t spin_us = 100;
  std::vector<std::string> methods;
  int listen_port = 0;
  CLI::App app{"Encrypted volunteer sessions vs UCX active messages vs MPI send/recv (2 ranks)",
               "bench_volunteer_transport"};
  app.add_option("--bytes", sizes,
                 "Message sizes in bytes (repeatable; default 64 KiB, 1 MiB, 16 MiB)")
      ->check(CLI::Range(int64_t{4}, int64_t{48} << 20));
  app.add_option("--seconds", budget_s, "Time budget per size and method")
      ->check(CLI::PositiveNumber);
  app.add_option("--window", window, "Messages in flight")->check(CLI::Range(1, 64));
  app.add_option("--transports", transports, "UCX transports of both UCX methods (UCX_TLS syntax)");
  app.add_option("--devices", devices, "UCX network devices (UCX_NET_DEVICES syntax)");
  app.add_option("--port", listen_port,
                 "Port the receiving rank's UCX listener takes (default: any free one)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--methods", methods, "Methods to measure (default all: mpi am sealed)")
      ->check(CLI::IsMember({"mpi", "am", "sealed"}));
  app.add_option("--spin-us", spin_us, "Microseconds an idle UCX wait polls before it sleeps")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  // Both ranks' measurements; rank 0 prints.
  auto measure = [&](int rank, int ranks, mlcp::collectives::MpiRuntime& mpi) -> int {
    if (sizes.empty()) sizes = {64 << 10, 1 << 20, 16 << 20};
    if (methods.empty()) methods = {"mpi", "am", "sealed"};
    auto measured = [&](const char* m) {
      return std::find(methods.begin(), methods.end(), m) != methods.end();
    };
    if (ranks != 2) throw mlcp::UsageError("run under mpirun -n 2 (rank 0 sends, rank 1 receives)");
    for (int64_t b : sizes) {
      if (b % 4 != 0) throw mlcp::UsageError(fmt::format("--bytes {}: not a multiple of 4", b));
    }

    // The UCX side: rank 1 listens (the job), rank 0 dials (the volunteer).
    ucx::ContextOptions copt;
    copt.transports = transports;
    copt.net_devices = devices;
    copt.idle_spin = std::chrono::microseconds(spin_us);
    ucx::Context context(copt);
    ucx::Worker worker(context);
    ucx::Listener listener;
    int port = 0;
    if (rank == 1) {
      listener = worker.listen(fmt::format("127.0.0.1:{}", listen_port));
      port = listener.port();
    }
    MPI_Bcast(&port, 1, MPI_INT, 1, MPI_COMM_WORLD);
    const std::string address = fmt::format("127.0.0.1:{}", port);
    const auto job_key = mlcp::verify::KeyPair::fromSeed(std::array<uint8_t, 32>{1});
    const auto volunteer_key = mlcp::verify::KeyPair::fromSeed(std::array<uint8_t, 32>{2});
    ucx::EndpointOptions eopt = vol::volunteerEndpointOptions();
    ucx::Endpoint raw;
    std::optional<vol::Session> session;
    // The raw endpoint first, confirmed by an echo, so the listener cannot mix up the two.
    if (rank == 0) {
      raw = worker.connect(address, eopt);
      raw.send(ucx::Buffer(1, 1), ucx::deadlineIn(kWait));
      raw.receive(ucx::deadlineIn(kWait));
    } else {
      raw = listener.accept(ucx::deadlineIn(kWait), eopt);
      raw.send(raw.receive(ucx::deadlineIn(kWait)), ucx::deadlineIn(kWait));
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
      vol::ClientOptions o;
      o.job_id = kJob;
      o.expected_job_key = job_key.publicKey();
      session.emplace(
          vol::Session::connect(worker, address, volunteer_key, o, ucx::deadlineIn(kWait)));
    } else {
      vol::ServerOptions o;
      o.job_id = kJob;
      o.allow = [&](const mlcp::verify::PublicKey& k) { return k == volunteer_key.publicKey(); };
      session.emplace(vol::Session::accept(listener, job_key, o, ucx::deadlineIn(kWait)));
    }
    if (rank == 0) {
      const char* pml = std::getenv("OMPI_MCA_pml");
      const char* btl = std::getenv("OMPI_MCA_btl");
      fmt::print(
          "bench_volunteer_transport: 2 ranks, UCX {} on {} (idle spin {} us), window {}, session "
          "cipher {}, MPI PML {} (btl {}), median of repetitions (rank 0 sends)\n",
          transports, devices, spin_us, window, vol::cipherSuiteName(session->cipher()),
          pml ? pml : mpi.pmlName(), btl ? btl : "default");
      fmt::print("{:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>14}\n", "size", "MPI GB/s", "AM GB/s",
                 "sealed GB/s", "sealed/AM", "sealed/MPI", "seal+open GB/s");
    }

    for (const int64_t bytes : sizes) {
      const int count = static_cast<int>(std::clamp<int64_t>((int64_t{64} << 20) / bytes, 4, 2048));
      const size_t n = static_cast<size_t>(bytes);
      const int w = window;

      // MPI: a window of Isend/Irecv, then a one-byte reply.
      std::vector<std::vector<uint8_t>> mpi_bufs(w, std::vector<uint8_t>(n, 7));
      auto run_mpi = [&](int c) {
        std::vector<MPI_Request> reqs(w, MPI_REQUEST_NULL);
        uint8_t reply = 0;
        const auto t0 = Clock::now();
        for (int i = 0; i < c; ++i) {
          MPI_Request& r = reqs[i % w];
          MPI_Wait(&r, MPI_STATUS_IGNORE);
          void* buf = mpi_bufs[i % w].data();
          if (rank == 0) {
            MPI_Isend(buf, static_cast<int>(n), MPI_BYTE, 1, 1, MPI_COMM_WORLD, &r);
          } else {
            MPI_Irecv(buf, static_cast<int>(n), MPI_BYTE, 0, 1, MPI_COMM_WORLD, &r);
          }
        }
        MPI_Waitall(w, reqs.data(), MPI_STATUSES_IGNORE);
        if (rank == 0) {
          MPI_Recv(&reply, 1, MPI_BYTE, 1, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
          return since(t0);
        }
        MPI_Send(&reply, 1, MPI_BYTE, 0, 2, MPI_COMM_WORLD);
        return 0.0;
      };

      // Sends `c` messages with a window of requests, recycling each completed request's buffer
      // into `bufs`, then waits for the reply; `post` starts one send from a buffer.
      auto windowed = [&](int c, std::vector<ucx::Buffer>& bufs,
                          const std::function<ucx::Request(ucx::Buffer)>& post,
                          const std::function<void()>& await_reply) {
        const auto deadline = ucx::deadlineIn(kWait);
        const auto t0 = Clock::now();
        std::vector<ucx::Request> reqs(w);
        for (int i = 0; i < c; ++i) {
          ucx::Request& r = reqs[i % w];
          if (r.valid()) {
            r.wait(deadline);
            bufs[i % w] = r.takeBuffer();
          }
          r = post(std::move(bufs[i % w]));
        }
        for (int i = 0; i < w; ++i) {
          if (reqs[i].valid()) {
            reqs[i].wait(deadline);
            bufs[i] = reqs[i].takeBuffer();
          }
        }
        await_reply();
        return since(t0);
      };

      // UCX active messages: the raw bytes; the receiver recycles each message's buffer, as
      // Session::receive does with its frames.
      std::vector<ucx::Buffer> am_bufs(w, ucx::Buffer(n, 7));
      auto run_am = [&](int c) {
        const auto deadline = ucx::deadlineIn(kWait);
        if (rank == 0) {
          return windowed(
              c, am_bufs, [&](ucx::Buffer b) { return raw.sendAsync(std::move(b)); },
              [&] { raw.receive(deadline); });
        }
        for (int i = 0; i < c; ++i) {
          ucx::Buffer m = raw.receive(deadline);
          if (m.size() != n) throw mlcp::CommError("UCX AM: a message of the wrong size");
          raw.recycle(std::move(m));
        }
        raw.send(ucx::Buffer(1, 0), deadline);
        return 0.0;
      };

      // Sealed session messages: a Contribution with one tensor of `bytes` bytes, sealed into
      // recycled buffers; the receiver opens and decodes each one.
      const vol::Contribution contribution = contributionOf(bytes);
      std::vector<ucx::Buffer> frames(w);
      auto run_sealed = [&](int c) {
        const auto deadline = ucx::deadlineIn(kWait);
        if (rank == 0) {
          return windowed(
              c, frames,
              [&](ucx::Buffer b) { return session->sendAsync(contribution, std::move(b)); },
              [&] { session->receive(deadline); });
        }
        for (int i = 0; i < c; ++i) {
          const auto m = std::get<vol::Contribution>(session->receive(deadline));
          if (m.tensors.size() != 1 || m.tensors[0].data.size() != n / 4) {
            throw mlcp::CommError("sealed: a wrong contribution");
          }
        }
        session->send(vol::Ack{vol::MessageType::kContribution, 1, 2}, deadline);
        return 0.0;
      };

      // A method not measured prints as nan.
      const double nan = std::numeric_limits<double>::quiet_NaN();
      const double mpi_rate =
          measured("mpi") ? throughput(run_mpi, count, bytes, budget_s, rank) : nan;
      const double am_rate =
          measured("am") ? throughput(run_am, count, bytes, budget_s, rank) : nan;
      const double sealed_rate =
          measured("sealed") ? throughput(run_sealed, count, bytes, budget_s, rank) : nan;
      if (rank == 0) {
        const double crypto = sealOpenRate(bytes, budget_s);
        fmt::print("{:>8} {:>10.2f} {:>10.2f} {:>10.2f} {:>9.2f}x {:>9.2f}x {:>14.2f}\n",
                   humanBytes(bytes), mpi_rate / 1e9, am_rate / 1e9, sealed_rate / 1e9,
                   sealed_rate / am_rate, sealed_rate / mpi_rate, crypto / 1e9);
      }
      MPI_Barrier(MPI_COMM_WORLD);
    }
    session->close(ucx::deadlineIn(kWait));
    MPI_Barrier(MPI_COMM_WORLD);
    return 0;
  };
  return mlcp::bench::runBenchmark(app, argc, argv, [&] {
    mlcp::collectives::MpiRuntime mpi;
    int rank = 0, ranks = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    try {
      return measure(rank, ranks, mpi);
    } catch (const std::exception& e) {
      // The other rank is blocked in a collective: MPI_Finalize would wait for it forever.
      std::fprintf(stderr, "bench_volunteer_transport: rank %d: error: %s\n", rank, e.what());
      MPI_Abort(MPI_COMM_WORLD, 1);
      return 1;
    }
  });
}
