// `mlcp verify replay`: recompute a run's checkpoint interval on this placement and compare.
//
// Replay, as numbered steps:
//  1. Open checkpoint K2 of RUN_DIR verified (every tensor), and checkpoint K1 (its manifest
//     carries the job file's text, so the replay needs nothing but the run directory).
//  2. Train steps K1+1..K2 from K1 on this placement into OUT (from this machine's copy of the
//     data when --data names one: its content hash must be the one the manifest records), recording
//     per-step state hashes and checkpoints like the original. The placement is the replay's (any
//     number of processes); the tensor-parallel degree is part of the numbers and is kept.
//  3. Compare the state hash of every step with the original run's record (the first step that
//     differs is reported), then the root of the replayed checkpoint K2 with the original's.
#pragma once

#include <cstdint>
#include <string>

#include "collectives/communicator.h"

namespace mlcp::runtime {

struct ReplayRequest {
  std::string run_dir;
  int64_t from = 0, to = 0;
  std::string out;  // default RUN_DIR/replay-K1-K2
  // Where this machine keeps the job's data, when not where the run's job file says. The data's
  // content must still be the run's (the manifest's data_hash; runtime/program_check.h).
  std::string data_path;
};

struct ReplayResult {
  int64_t steps_compared = 0;  // per-step state hashes that were compared (all matched)
  std::string root;            // the replayed (and original) root of checkpoint K2
  std::string out;
};

// Collective over `world`. UsageError for a request that cannot be replayed (missing
// checkpoints, K2 <= K1); VerificationError, naming the step, when the replay diverges.
ReplayResult replayInterval(const ReplayRequest& request, collectives::Communicator& world);

}  // namespace mlcp::runtime
