// Deadlines of the UCX transport: every wait takes an absolute time on the steady clock, so a
// protocol of several steps (a handshake) can share one deadline without adding up timeouts.
#pragma once

#include <chrono>

namespace mlcp::collectives::ucx {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

inline Deadline deadlineIn(std::chrono::milliseconds timeout) { return Clock::now() + timeout; }

// Milliseconds left until `deadline` (zero when it has passed).
inline std::chrono::milliseconds remaining(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

}  // namespace mlcp::collectives::ucx
