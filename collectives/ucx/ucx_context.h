// A UCX context (ucp_context_h, RAII): which transports and devices this process's volunteer
// traffic may use. It is separate from the one Open MPI's UCX PML opens in the same process, so
// the two coexist and may be configured apart.
//
// Configuration, first match wins:
//  1. ContextOptions::transports / net_devices (e.g. "tcp" and "lo" in tests);
//  2. $MLCP_UCX_TLS / $MLCP_UCX_NET_DEVICES (the env_prefix "MLCP": only this context reads them);
//  3. $UCX_TLS / $UCX_NET_DEVICES (shared with Open MPI's UCX);
//  4. UCX's defaults: every transport and device it finds.
// Any other UCX variable works the same way ($MLCP_UCX_TCP_KEEPINTVL, $UCX_RNDV_THRESH, ...).
// On a machine with several interfaces, unpinned UCX may pick one the peer cannot reach and
// report "Destination is unreachable": pin the device the peers see (e.g.
// MLCP_UCX_NET_DEVICES=eth0).
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace mlcp::collectives::ucx {

namespace detail {
struct ContextCore;
}

struct ContextOptions {
  // UCX_TLS syntax ("tcp", "tcp,self", "^rc"); empty: the environment decides (see above).
  std::string transports;
  // UCX_NET_DEVICES syntax ("lo", "eth0", "mlx5_0:1"); empty: the environment decides.
  std::string net_devices;
  // Variables named <env_prefix>_UCX_* override UCX_* for this context only; empty: UCX_* only.
  std::string env_prefix = "MLCP";
  // Idle waits sleep on the worker's event file descriptor (UCP_FEATURE_WAKEUP) after a short
  // spin; false: they spin and yield (for transports without wake-up support).
  bool wakeup = true;
  // How long an idle wait keeps polling before it sleeps: longer catches the next event of a
  // busy connection without a wake-up (throughput), shorter leaves the core to others sooner.
  std::chrono::microseconds idle_spin{100};
};

class Context {
 public:
  // Throws CommError with UCX's message when the configuration is invalid or no transport
  // opens (the message names the transports and devices asked for).
  explicit Context(const ContextOptions& options = {});
  ~Context();
  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const ContextOptions& options() const;

 private:
  friend class Worker;
  std::shared_ptr<detail::ContextCore> core_;
};

}  // namespace mlcp::collectives::ucx
