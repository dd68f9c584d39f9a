#include "runtime/stop_signal.h"

namespace mlcp::runtime {
namespace {

volatile std::sig_atomic_t g_received = 0;  // a signal handler can only reach static storage

// The first SIGTERM, SIGINT or SIGUSR1 asks for a stop at the next step boundary; a second
// SIGINT (Ctrl-C twice) ends the process at once, as a shell user expects.
extern "C" void onStopSignal(int sig) {
  if (sig == SIGINT && g_received != 0) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGINT, &dfl, nullptr);
    raise(SIGINT);
    return;
  }
  g_received = sig;
}

}  // namespace

StopSignal::StopSignal() {
  g_received = 0;
  struct sigaction sa {};
  sa.sa_handler = onStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, &old_term_);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGUSR1, &sa, &old_usr1_);
}

StopSignal::~StopSignal() {
  sigaction(SIGTERM, &old_term_, nullptr);
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGUSR1, &old_usr1_, nullptr);
}

bool StopSignal::requested() const { return g_received != 0; }
int StopSignal::signal() const { return g_received; }

const char* StopSignal::name() const {
  switch (g_received) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGUSR1:
      return "SIGUSR1";
    default:
      return "a signal";
  }
}

}  // namespace mlcp::runtime
