// Named points where a fault test can stop the process and make a real fault happen at exactly
// that moment: pausePoint("checkpoint.shard") stops the whole process (SIGSTOP) when the
// environment variable MLCP_PAUSE_AT names that point, so a test can kill it (SIGKILL), fill or
// remount its disk read-only, then let it continue (SIGCONT) — the faults of the real operating
// system, at a chosen phase. MLCP_PAUSE_AT=NAME@K pauses at the K-th pass (1-based; default 1).
// Without the variable a point costs one comparison (the variable is read once).
//
// The points (tests/runtime/test_fault_matrix.cc):
//   checkpoint.snapshot   a rank's state is copied, its shard not yet written
//   checkpoint.shard      a rank's shard is written and fsynced, nothing committed
//   checkpoint.manifest   manifest.json is written and fsynced in the temporary folder
//   checkpoint.rename     the folder was renamed to step-N, its parent not yet fsynced
#pragma once

namespace mlcp {

void pausePoint(const char* name);

}  // namespace mlcp
