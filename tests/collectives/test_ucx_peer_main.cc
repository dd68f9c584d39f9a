// test_ucx_peer — the other process of the UCX transport tests (test_ucx_transport.cc), so that
// a peer can be killed or stopped for real.
//
//   test_ucx_peer connect HOST:PORT   dial, send "hello", then echo every message back
//   test_ucx_peer listen              listen on 127.0.0.1:0, print "port N", accept one
//                                     connection, send "hello", then echo every message back
// Transports are pinned to tcp on lo (notes/mpi-ucx.md). It runs until killed, or exits 1 with
// the error when its peer goes away.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "collectives/ucx/ucx_worker.h"

using namespace mlcp::collectives::ucx;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: test_ucx_peer connect HOST:PORT | listen\n");
    return 2;
  }
  try {
    Context context({"tcp", "lo"});
    Worker worker(context);
    Listener listener;
    Endpoint ep;
    if (std::strcmp(argv[1], "connect") == 0 && argc == 3) {
      ep = worker.connect(argv[2]);
    } else if (std::strcmp(argv[1], "listen") == 0) {
      listener = worker.listen("127.0.0.1:0");
      std::printf("port %u\n", listener.port());
      std::fflush(stdout);
      ep = listener.accept(deadlineIn(std::chrono::seconds(60)));
    } else {
      std::fprintf(stderr, "usage: test_ucx_peer connect HOST:PORT | listen\n");
      return 2;
    }
    const std::string hello = "hello";
    ep.send(Buffer(hello.begin(), hello.end()), deadlineIn(std::chrono::seconds(60)));
    for (;;) {
      Buffer message = ep.receive(deadlineIn(std::chrono::hours(1)));
      ep.send(std::move(message), deadlineIn(std::chrono::seconds(60)));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "test_ucx_peer: %s\n", e.what());
    return 1;
  }
}
