// The UCX transport (collectives/ucx) on real loopback TCP: two threads with their own contexts
// and workers, or this process and a test_ucx_peer process that is killed or stopped for real.
// UCX is pinned to tcp on lo (notes/mpi-ucx.md).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <fstream>
#include <functional>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "collectives/ucx/socket_address.h"
#include "collectives/ucx/ucx_worker.h"
#include "tests/common/test_util.h"

extern char** environ;

namespace {

using namespace mlcp::collectives::ucx;
using mlcp::CommError;
using mlcp::TimeoutError;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kLong = seconds(30);

ContextOptions loopback() {
  ContextOptions o;
  o.transports = "tcp";
  o.net_devices = "lo";
  return o;
}

Buffer pattern(size_t bytes, uint32_t seed) {
  Buffer b(bytes);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < bytes; ++i) {
    x = x * 1664525u + 1013904223u;
    b[i] = static_cast<uint8_t>(x >> 24);
  }
  return b;
}

Buffer text(const std::string& s) { return Buffer(s.begin(), s.end()); }
std::string text(const Buffer& b) { return std::string(b.begin(), b.end()); }

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Runs `body` on its own thread (with its own UCX context); join() rethrows its exception.
class PeerThread {
 public:
  explicit PeerThread(std::function<void()> body)
      : thread_([this, body = std::move(body)] {
          try {
            body();
          } catch (...) {
            error_ = std::current_exception();
          }
        }) {}
  ~PeerThread() {
    if (thread_.joinable()) thread_.join();
  }
  void join() {
    thread_.join();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
  std::thread thread_;
};

// The port a server thread publishes; rethrows the thread's error when it failed first.
uint16_t awaitPort(std::future<uint16_t>& port, PeerThread& server) {
  if (port.wait_for(kLong) != std::future_status::ready) {
    server.join();
    throw std::runtime_error("the server thread published no port");
  }
  return port.get();
}

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const mlcp::Error& e) {
    return e.what();
  }
  return "";
}

std::string local(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// A test_ucx_peer process (posix_spawn: no fork of this multi-threaded process), killed at the end.
class PeerProcess {
 public:
  PeerProcess(const std::vector<std::string>& args, const std::string& log) : log_(log) {
    std::vector<std::string> argv_s = {MLCP_UCX_PEER_BINARY};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("posix_spawn test_ucx_peer failed");
  }
  ~PeerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      kill(pid_, SIGCONT);
      waitpid(pid_, nullptr, 0);
    }
  }
  void signal(int sig) { kill(pid_, sig); }
  void killAndReap() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string output() const { return mlcp::test::readFile(log_); }
  // The port a `listen` peer printed.
  uint16_t awaitPort() {
    uint16_t port = 0;
    mlcp::test::waitUntil(30, [&] {
      std::istringstream in(output());
      std::string word;
      return (in >> word >> port) && word == "port";
    });
    if (port == 0) throw std::runtime_error("test_ucx_peer printed no port: " + output());
    return port;
  }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

TEST(UcxSocketAddress, ParsesAndPrintsHostPort) {
  EXPECT_EQ(SocketAddress::parse("127.0.0.1:7400").toString(), "127.0.0.1:7400");
  EXPECT_EQ(SocketAddress::parse("127.0.0.1:0").port(), 0);
  EXPECT_EQ(SocketAddress::parse("[::1]:65535").toString(), "[::1]:65535");
  EXPECT_EQ(SocketAddress::parse("localhost:12").port(), 12);
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536", "127.0.0.1:-1",
                          "127.0.0.1:8x", "::1:80", "[::1]80", "no-such-host.invalid:80"}) {
    EXPECT_THROW(SocketAddress::parse(bad), mlcp::UsageError) << bad;
  }
  try {
    SocketAddress::parse("127.0.0.1");
  } catch (const mlcp::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("expected HOST:PORT"), std::string::npos) << e.what();
  }
}

TEST(UcxTransport, BadConfigurationNamesTheTransport) {
  ContextOptions o = loopback();
  o.transports = "no_such_transport";
  try {
    Context context(o);
    Worker worker(context);
    ADD_FAILURE() << "a context with no usable transport was created";
  } catch (const CommError& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_transport"), std::string::npos) << e.what();
  }
}

TEST(UcxTransport, ListenerOnPortZeroReportsItsPort) {
  Context context(loopback());
  Worker worker(context);
  Listener listener = worker.listen("127.0.0.1:0");
  EXPECT_GT(listener.port(), 0);
  EXPECT_EQ(listener.address(), local(listener.port()));
  // A second listener on the same port is refused with UCX's message.
  EXPECT_THROW(worker.listen(listener.address()), CommError);
}

// Sizes 0 .. 16 MiB + 3 (odd, and well past the rendezvous threshold) echoed back.
TEST(UcxTransport, EchoesEverySizeBothWaysInOrder) {
  const std::vector<size_t> sizes = {
      0, 1, 7, 4096, 65536, 65537, size_t{1} << 20, (size_t{16} << 20) + 3};
  std::promise<uint16_t> port;
  auto port_future = port.get_future();
  EndpointStats server_stats;
  PeerThread server([&] {
    Context context(loopback());
    Worker worker(context);
    Listener listener = worker.listen("127.0.0.1:0");
    port.set_value(listener.port());
    Endpoint ep = listener.accept(deadlineIn(kLong));
    // All messages first (they queue in order), then the echoes.
    std::vector<Buffer> got;
    for (size_t i = 0; i < sizes.size(); ++i) got.push_back(ep.receive(deadlineIn(kLong)));
    for (auto& m : got) ep.send(std::move(m), deadlineIn(kLong));
    server_stats = ep.stats();
    // The client's close reaches this side as a failure of the endpoint.
    EXPECT_THROW(ep.receive(deadlineIn(kLong)), CommError);
  });
  Context context(loopback());
  Worker worker(context);
  Endpoint ep = worker.connect(local(awaitPort(port_future, server)));
  std::vector<Request> sends;
  for (size_t i = 0; i < sizes.size(); ++i) sends.push_back(ep.sendAsync(pattern(sizes[i], i)));
  for (auto& r : sends) r.wait(deadlineIn(kLong));
  for (size_t i = 0; i < sizes.size(); ++i) {
    Buffer back = ep.receive(deadlineIn(kLong));
    ASSERT_EQ(back.size(), sizes[i]) << "message " << i;
    EXPECT_TRUE(back == pattern(sizes[i], i)) << "message " << i << " of " << sizes[i] << " bytes";
  }
  EXPECT_EQ(ep.stats().messages_received, sizes.size());
  // Once connected, UCX's own threshold sends 16 MiB by rendezvous (messages queued before the
  // connection completed may go eagerly).
  EXPECT_GE(ep.stats().rendezvous_received, 1u) << "16 MiB should arrive by rendezvous";
  ep.close(deadlineIn(kLong));
  server.join();
  EXPECT_EQ(server_stats.messages_received, sizes.size());
}

// A threshold splits the protocols: 64 KiB messages go by rendezvous (UCP_AM_SEND_FLAG_RNDV)
// under a 32 KiB threshold, and 256 KiB ones eagerly (UCP_AM_SEND_FLAG_EAGER) under 1 MiB, where
// UCX over TCP chooses rendezvous for them by itself (threshold 0).
TEST(UcxTransport, ForcedRendezvousThreshold) {
  struct Phase {
    size_t threshold, bytes;
  };
  const std::vector<Phase> phases = {{32768, 65536}, {size_t{1} << 20, 262144}, {0, 262144}};
  std::promise<uint16_t> port;
  auto port_future = port.get_future();
  std::vector<uint64_t> rendezvous;
  PeerThread server([&] {
    Context context(loopback());
    Worker worker(context);
    Listener listener = worker.listen("127.0.0.1:0");
    port.set_value(listener.port());
    for (const Phase& phase : phases) {
      Endpoint ep = listener.accept(deadlineIn(kLong));
      for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(ep.receive(deadlineIn(kLong)) == pattern(phase.bytes, i));
      }
      rendezvous.push_back(ep.stats().rendezvous_received);
      ep.send(text("done"), deadlineIn(kLong));
      EXPECT_THROW(ep.receive(deadlineIn(kLong)), CommError);  // the client closed
    }
  });
  Context context(loopback());
  Worker worker(context);
  const std::string address = local(awaitPort(port_future, server));
  for (const Phase& phase : phases) {
    EndpointOptions options;
    options.rendezvous_threshold = phase.threshold;
    Endpoint ep = worker.connect(address, options);
    for (int i = 0; i < 3; ++i) ep.send(pattern(phase.bytes, i), deadlineIn(kLong));
    EXPECT_EQ(text(ep.receive(deadlineIn(kLong))), "done");
    ep.close(deadlineIn(kLong));
  }
  server.join();
  ASSERT_EQ(rendezvous.size(), 3u);
  EXPECT_EQ(rendezvous[0], 3u);
  EXPECT_EQ(rendezvous[1], 0u);
  // UCX's own choice, once connected (a message queued before may go eagerly).
  EXPECT_GE(rendezvous[2], 2u);
}

// recycle() keeps at most spare_buffers buffers of at most max_spare_bytes in all, the newest
// first, and incoming messages land in one large enough.
TEST(UcxTransport, SpareBuffersAreBoundedByCountAndBytes) {
  std::promise<uint16_t> port;
  auto port_future = port.get_future();
  std::vector<uint64_t> reused;
  PeerThread server([&] {
    Context context(loopback());
    Worker worker(context);
    Listener listener = worker.listen("127.0.0.1:0");
    port.set_value(listener.port());
    EndpointOptions options;
    options.spare_buffers = 4;
    options.max_spare_bytes = 3 * 4096;
    Endpoint ep = listener.accept(deadlineIn(kLong), options);
    auto round = [&](size_t recycled, size_t capacity, const std::vector<size_t>& sizes) {
      for (size_t i = 0; i < recycled; ++i) ep.recycle(Buffer(capacity));
      ep.send(text("go"), deadlineIn(kLong));
      for (size_t i = 0; i < sizes.size(); ++i) {
        EXPECT_TRUE(ep.receive(deadlineIn(kLong)) == pattern(sizes[i], i));
      }
      reused.push_back(ep.stats().spares_reused);
    };
    round(5, 4096, {4096, 4096, 4096, 4096, 4096});  // the bytes bound keeps 3 of the 5
    round(5, 100, {100, 100, 100, 100, 100});        // the count bound keeps 4
    round(1, 100, {5000});                           // too small for the message: fresh memory
    // Four more small ones, then a large one: the oldest small one makes room for it.
    for (int i = 0; i < 4; ++i) ep.recycle(Buffer(100));
    round(1, 8192, {8000});
    ep.send(text("done"), deadlineIn(kLong));
    EXPECT_THROW(ep.receive(deadlineIn(kLong)), CommError);
  });
  Context context(loopback());
  Worker worker(context);
  Endpoint ep = worker.connect(local(awaitPort(port_future, server)));
  for (const std::vector<size_t>& sizes :
       {std::vector<size_t>(5, 4096), std::vector<size_t>(5, 100), std::vector<size_t>{5000},
        std::vector<size_t>{8000}}) {
    EXPECT_EQ(text(ep.receive(deadlineIn(kLong))), "go");
    for (size_t i = 0; i < sizes.size(); ++i) ep.send(pattern(sizes[i], i), deadlineIn(kLong));
  }
  EXPECT_EQ(text(ep.receive(deadlineIn(kLong))), "done");
  ep.close(deadlineIn(kLong));
  server.join();
  EXPECT_EQ(reused, (std::vector<uint64_t>{3, 7, 7, 8}));
}

// Many small messages with many sends in flight arrive complete and in order.
TEST(UcxTransport, ThousandsOfMessagesKeepTheirOrder) {
  constexpr int kCount = 5000;
  std::promise<uint16_t> port;
  auto port_future = port.get_future();
  PeerThread server([&] {
    Context context(loopback());
    Worker worker(context);
    Listener listener = worker.listen("127.0.0.1:0");
    port.set_value(listener.port());
    Endpoint ep = listener.accept(deadlineIn(kLong));
    for (int i = 0; i < kCount; ++i) {
      Buffer m = ep.receive(deadlineIn(kLong));
      ASSERT_EQ(text(m), std::to_string(i));
    }
    ep.send(text("done"), deadlineIn(kLong));
    EXPECT_THROW(ep.receive(deadlineIn(kLong)), CommError);
  });
  Context context(loopback());
  Worker worker(context);
  Endpoint ep = worker.connect(local(awaitPort(port_future, server)));
  std::vector<Request> window;
  for (int i = 0; i < kCount; ++i) {
    window.push_back(ep.sendAsync(text(std::to_string(i))));
    if (window.size() == 64) {
      for (auto& r : window) r.wait(deadlineIn(kLong));
      window.clear();
    }
  }
  for (auto& r : window) r.wait(deadlineIn(kLong));
  EXPECT_EQ(text(ep.receive(deadlineIn(kLong))), "done");
  ep.close(deadlineIn(kLong));
  server.join();
}

// A message over the receiver's limit fails that endpoint (no buffer is allocated for it); the
// listener goes on accepting.
TEST(UcxTransport, OversizedMessageFailsOnlyItsEndpoint) {
  for (size_t bytes : {size_t{(1 << 20) + 1}, size_t{16} << 20}) {
    std::promise<uint16_t> port;
    auto port_future = port.get_future();
    std::string error;
    PeerThread server([&] {
      Context context(loopback());
      Worker worker(context);
      Listener listener = worker.listen("127.0.0.1:0");
      port.set_value(listener.port());
      EndpointOptions limits;
      limits.max_message_bytes = 1 << 20;
      Endpoint bad = listener.accept(deadlineIn(kLong), limits);
      try {
        bad.receive(deadlineIn(kLong));
        ADD_FAILURE() << "an oversized message was delivered";
      } catch (const TimeoutError& e) {
        ADD_FAILURE() << "timed out instead of failing: " << e.what();
      } catch (const CommError& e) {
        error = e.what();
      }
      bad = Endpoint();  // the client waits for this before it dials again
      Endpoint good = listener.accept(deadlineIn(kLong), limits);
      EXPECT_EQ(good.receive(deadlineIn(kLong)).size(), size_t{1} << 20);
      good.send(text("ok"), deadlineIn(kLong));
      EXPECT_THROW(good.receive(deadlineIn(kLong)), CommError);
    });
    Context context(loopback());
    Worker worker(context);
    const std::string address = local(awaitPort(port_future, server));
    Endpoint bad = worker.connect(address);
    Request r = bad.sendAsync(pattern(bytes, 1));
    // One connection at a time: the listener may see two dials in either order.
    EXPECT_THROW(bad.receive(deadlineIn(kLong)), CommError);
    Endpoint good = worker.connect(address);
    good.send(pattern(size_t{1} << 20, 2), deadlineIn(kLong));
    EXPECT_EQ(text(good.receive(deadlineIn(kLong))), "ok");
    good.close(deadlineIn(kLong));
    server.join();
    EXPECT_NE(error.find("limit is 1048576 bytes"), std::string::npos) << error;
  }
}

// A peer cannot queue more unread bytes than max_queued_bytes.
TEST(UcxTransport, UnreadBytesAreBounded) {
  std::promise<uint16_t> port;
  auto port_future = port.get_future();
  std::atomic<bool> done{false};
  std::string error;
  PeerThread server([&] {
    Context context(loopback());
    Worker worker(context);
    Listener listener = worker.listen("127.0.0.1:0");
    port.set_value(listener.port());
    EndpointOptions limits;
    limits.max_queued_bytes = 1 << 20;
    Endpoint ep = listener.accept(deadlineIn(kLong), limits);
    // Let everything arrive unread, then read.
    worker.progressUntil([&] { return ep.failed(); }, deadlineIn(kLong));
    int delivered = 0;
    try {
      for (;;) {
        ep.receive(deadlineIn(kLong));
        ++delivered;
      }
    } catch (const TimeoutError& e) {
      ADD_FAILURE() << e.what();
    } catch (const CommError& e) {
      error = e.what();
    }
    EXPECT_EQ(delivered, 4) << "the messages within the bound are still delivered";
    done = true;
  });
  Context context(loopback());
  Worker worker(context);
  Endpoint ep = worker.connect(local(awaitPort(port_future, server)));
  for (int i = 0; i < 8; ++i) ep.sendAsync(pattern(256 << 10, i));
  worker.progressUntil([&] { return done.load(); }, deadlineIn(kLong));
  server.join();
  EXPECT_NE(error.find("not received yet"), std::string::npos) << error;
}

TEST(UcxTransport, DeadlinesExpireWithTimeoutError) {
  Context context(loopback());
  Worker worker(context);
  Listener listener = worker.listen("127.0.0.1:0");
  auto t0 = Clock::now();
  EXPECT_THROW(listener.accept(deadlineIn(milliseconds(200))), TimeoutError);
  EXPECT_GE(secondsSince(t0), 0.19);
  EXPECT_LT(secondsSince(t0), 2.0);

  // A connected peer that sends nothing: receive times out, and the endpoint stays usable.
  std::promise<uint16_t> port;
  auto port_future = port.get_future();
  std::promise<void> go;
  auto go_future = go.get_future();
  PeerThread server([&] {
    Context context(loopback());
    Worker worker(context);
    Listener listener = worker.listen("127.0.0.1:0");
    port.set_value(listener.port());
    Endpoint ep = listener.accept(deadlineIn(kLong));
    worker.progressUntil(
        [&] { return go_future.wait_for(milliseconds(0)) == std::future_status::ready; },
        deadlineIn(kLong));
    ep.send(text("late"), deadlineIn(kLong));
    EXPECT_THROW(ep.receive(deadlineIn(kLong)), CommError);
  });
  Endpoint ep = worker.connect(local(awaitPort(port_future, server)));
  t0 = Clock::now();
  try {
    ep.receive(deadlineIn(milliseconds(300)));
    ADD_FAILURE() << "received from a silent peer";
  } catch (const TimeoutError& e) {
    EXPECT_NE(std::string(e.what()).find("no message from 127.0.0.1:"), std::string::npos)
        << e.what();
  }
  EXPECT_GE(secondsSince(t0), 0.29);
  EXPECT_LT(secondsSince(t0), 2.0);
  EXPECT_FALSE(ep.tryReceive().has_value());
  go.set_value();
  EXPECT_EQ(text(ep.receive(deadlineIn(kLong))), "late");
  ep.close(deadlineIn(kLong));
  server.join();
}

TEST(UcxTransport, DialingNobodyFailsBeforeTheDeadline) {
  Context context(loopback());
  Worker worker(context);
  uint16_t unused;
  {
    Listener probe = worker.listen("127.0.0.1:0");
    unused = probe.port();
  }
  Endpoint ep = worker.connect(local(unused));
  const auto t0 = Clock::now();
  try {
    ep.receive(deadlineIn(kLong));
    ADD_FAILURE() << "received from nobody";
  } catch (const TimeoutError& e) {
    ADD_FAILURE() << "timed out instead of failing: " << e.what();
  } catch (const CommError& e) {
    EXPECT_NE(std::string(e.what()).find(local(unused)), std::string::npos) << e.what();
  }
  EXPECT_LT(secondsSince(t0), 20.0);
}

// SIGKILL the peer: this side gets CommError on that endpoint within its deadline, never a
// hang; the listener goes on accepting.
TEST(UcxTransport, KilledClientFailsItsEndpointOnTheServer) {
  mlcp::test::TempDir dir("mlcp-ucx");
  Context context(loopback());
  Worker worker(context);
  Listener listener = worker.listen("127.0.0.1:0");
  PeerProcess peer({"connect", listener.address()}, dir.file("peer.log"));
  Endpoint ep = listener.accept(deadlineIn(kLong));
  EXPECT_EQ(text(ep.receive(deadlineIn(kLong))), "hello");
  ep.send(pattern(1 << 20, 3), deadlineIn(kLong));
  EXPECT_TRUE(ep.receive(deadlineIn(kLong)) == pattern(1 << 20, 3));
  peer.killAndReap();
  const auto t0 = Clock::now();
  try {
    ep.receive(deadlineIn(seconds(20)));
    ADD_FAILURE() << "received from a killed peer";
  } catch (const TimeoutError& e) {
    ADD_FAILURE() << "timed out instead of failing: " << e.what();
  } catch (const CommError& e) {
    EXPECT_NE(std::string(e.what()).find("failed"), std::string::npos) << e.what();
    std::printf("[ info ] killed client seen after %.3f s: %s\n", secondsSince(t0), e.what());
  }
  EXPECT_TRUE(ep.failed());
  EXPECT_THROW(ep.send(pattern(16 << 20, 4), deadlineIn(seconds(20))), CommError);

  PeerProcess second({"connect", listener.address()}, dir.file("peer2.log"));
  Endpoint ep2 = listener.accept(deadlineIn(kLong));
  EXPECT_EQ(text(ep2.receive(deadlineIn(kLong))), "hello");
}

TEST(UcxTransport, KilledServerFailsTheClientMidRendezvous) {
  mlcp::test::TempDir dir("mlcp-ucx");
  PeerProcess peer({"listen"}, dir.file("peer.log"));
  const uint16_t port = peer.awaitPort();
  Context context(loopback());
  Worker worker(context);
  Endpoint ep = worker.connect(local(port));
  EXPECT_EQ(text(ep.receive(deadlineIn(kLong))), "hello");
  ep.send(pattern(16 << 20, 5), deadlineIn(kLong));
  EXPECT_TRUE(ep.receive(deadlineIn(kLong)) == pattern(16 << 20, 5));
  // Stop the peer, start a 16 MiB send it cannot take, then kill it: the send fails, not hangs.
  peer.signal(SIGSTOP);
  Request pending = ep.sendAsync(pattern(16 << 20, 6));
  EXPECT_THROW(pending.wait(deadlineIn(milliseconds(300))), TimeoutError);
  peer.killAndReap();
  const auto t0 = Clock::now();
  try {
    pending.wait(deadlineIn(seconds(20)));
    ADD_FAILURE() << "a send to a killed peer completed";
  } catch (const TimeoutError& e) {
    ADD_FAILURE() << "timed out instead of failing: " << e.what();
  } catch (const CommError& e) {
    std::printf("[ info ] killed server seen after %.3f s: %s\n", secondsSince(t0), e.what());
  }
  EXPECT_THROW(ep.receive(deadlineIn(seconds(20))), CommError);
}

// A peer that stops answering (SIGSTOP) gives TimeoutError; once it resumes the endpoint works.
TEST(UcxTransport, StoppedPeerTimesOutThenRecovers) {
  mlcp::test::TempDir dir("mlcp-ucx");
  Context context(loopback());
  Worker worker(context);
  Listener listener = worker.listen("127.0.0.1:0");
  PeerProcess peer({"connect", listener.address()}, dir.file("peer.log"));
  Endpoint ep = listener.accept(deadlineIn(kLong));
  EXPECT_EQ(text(ep.receive(deadlineIn(kLong))), "hello");
  // One round trip first: UCX's tcp transport connects each direction on its first send, which
  // needs the peer's progress.
  ep.send(text("warm"), deadlineIn(kLong));
  EXPECT_EQ(text(ep.receive(deadlineIn(kLong))), "warm");
  peer.signal(SIGSTOP);
  ep.send(text("ping"), deadlineIn(kLong));
  EXPECT_THROW(ep.receive(deadlineIn(milliseconds(300))), TimeoutError);
  Request big = ep.sendAsync(pattern(16 << 20, 7));
  EXPECT_THROW(big.wait(deadlineIn(milliseconds(300))), TimeoutError);
  peer.signal(SIGCONT);
  EXPECT_EQ(text(ep.receive(deadlineIn(kLong))), "ping");
  big.wait(deadlineIn(kLong));
  EXPECT_TRUE(ep.receive(deadlineIn(kLong)) == pattern(16 << 20, 7));
}

// Handles may be destroyed in any order: each keeps what it was made from alive.
TEST(UcxTransport, HandlesOutliveTheirMakers) {
  Endpoint ep;
  Listener listener;
  {
    Context context(loopback());
    Worker worker(context);
    listener = worker.listen("127.0.0.1:0");
    ep = worker.connect(listener.address());
  }
  Endpoint accepted = listener.accept(deadlineIn(kLong));
  ep.send(text("x"), deadlineIn(kLong));
  EXPECT_EQ(text(accepted.receive(deadlineIn(kLong))), "x");
  Request orphan = ep.sendAsync(pattern(16 << 20, 8));
  ep = Endpoint();  // forced close with a send in flight: the request completes as cancelled
  EXPECT_THROW(orphan.wait(deadlineIn(kLong)), CommError);
}

// The peer learns at once that this side closed (close()) or dropped (destructor) its endpoint,
// as long as this side's worker keeps progressing (UCX tears the connection down in progress).
TEST(UcxTransport, ClosedOrDroppedEndpointIsSeenByThePeer) {
  for (const bool graceful : {true, false}) {
    std::promise<uint16_t> port;
    auto port_future = port.get_future();
    std::atomic<double> seen{-1};
    std::string error;
    PeerThread server([&] {
      Context context(loopback());
      Worker worker(context);
      Listener listener = worker.listen("127.0.0.1:0");
      port.set_value(listener.port());
      Endpoint ep = listener.accept(deadlineIn(kLong));
      EXPECT_EQ(text(ep.receive(deadlineIn(kLong))), "last words");
      const auto t0 = Clock::now();
      error = errorOf([&] { ep.receive(deadlineIn(kLong)); });
      seen = secondsSince(t0);
    });
    Context context(loopback());
    Worker worker(context);
    {
      Endpoint ep = worker.connect(local(awaitPort(port_future, server)));
      ep.send(text("last words"), deadlineIn(kLong));
      if (graceful) ep.close(deadlineIn(kLong));
    }
    worker.progressUntil([&] { return seen >= 0; }, deadlineIn(kLong));
    server.join();
    EXPECT_LT(seen, 5.0) << (graceful ? "close()" : "destructor");
    EXPECT_EQ(error.find("no message"), std::string::npos) << error;
  }
}

}  // namespace
