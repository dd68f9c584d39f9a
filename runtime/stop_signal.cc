#include "runtime/stop_signal.h"

namespace mlcp::runtime {
namespace {

volatile std::sig_atomic_t g_received = 0;  // a signal handler can only reach static storage

extern "C" void onStopSignal(int sig) { g_received = sig; }

}  // namespace

StopSignal::StopSignal() {
  g_received = 0;
  struct sigaction sa {};
  sa.sa_handler = onStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, &old_term_);
  sigaction(SIGUSR1, &sa, &old_usr1_);
}

StopSignal::~StopSignal() {
  sigaction(SIGTERM, &old_term_, nullptr);
  sigaction(SIGUSR1, &old_usr1_, nullptr);
}

bool StopSignal::requested() const { return g_received != 0; }
int StopSignal::signal() const { return g_received; }

}  // namespace mlcp::runtime
