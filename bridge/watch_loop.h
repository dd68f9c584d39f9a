// The loop of the protocol's long-running roles (`mlcp verifier watch`, `mlcp solver serve`,
// `mlcp referee watch`): call `step` — which reads the chain and does what is due — until it
// says it is done, polling at a fixed interval. A step that fails on the chain (the node went
// away, a receipt did not come, a call was refused because its phase has not opened on the
// node's clock yet) is not fatal: it is logged and retried after a back-off that doubles from the
// poll interval up to `max_backoff_s`, and the next success resets it. Because every step
// re-reads the chain and the roles send through a JournaledSender, a retried step never sends
// an action twice. Anything else (a user's mistake, a failed verification) ends the loop.
#pragma once

#include <functional>
#include <string>

namespace mlcp::bridge {

struct WatchOptions {
  double poll_s = 0.5;        // between steps that found nothing to do
  double max_backoff_s = 30;  // the longest wait after consecutive failures
  double max_seconds = 0;     // give up (TimeoutError) after this long; 0 = never
  std::function<void(const std::string&)> log;
};

// Returns when `step` returns true.
void watch(const std::function<bool()>& step, const WatchOptions& options);

}  // namespace mlcp::bridge
