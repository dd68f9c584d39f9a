#include "bridge/watch_loop.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/error.h"

namespace mlcp::bridge {

void watch(const std::function<bool()>& step, const WatchOptions& o) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  double backoff = o.poll_s;
  int failures = 0;
  for (;;) {
    double wait = o.poll_s;
    try {
      if (step()) return;
      if (failures > 0 && o.log)
        o.log(fmt::format("chain: back after {} failed attempts", failures));
      failures = 0;
      backoff = o.poll_s;
    } catch (const ChainError& e) {  // unreachable node, JSON-RPC error, revert
      ++failures;
      wait = backoff;
      if (o.log) o.log(fmt::format("chain: {} (retrying in {:.1f} s)", e.what(), wait));
      backoff = std::min(backoff * 2, o.max_backoff_s);
    } catch (const TimeoutError& e) {  // a receipt that did not come
      ++failures;
      wait = backoff;
      if (o.log) o.log(fmt::format("chain: {} (retrying in {:.1f} s)", e.what(), wait));
      backoff = std::min(backoff * 2, o.max_backoff_s);
    }
    if (o.max_seconds > 0 &&
        std::chrono::duration<double>(Clock::now() - t0).count() > o.max_seconds) {
      throw TimeoutError(fmt::format("gave up after {:.0f} s", o.max_seconds));
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));  // polling interval
  }
}

}  // namespace mlcp::bridge
