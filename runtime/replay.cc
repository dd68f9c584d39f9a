#include "runtime/replay.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "base/error.h"
#include "jobs/job_spec.h"
#include "runtime/metrics.h"
#include "runtime/trainer.h"
#include "verify/checkpoint.h"

namespace mlcp::runtime {
namespace {

// step -> state_hash recorded by rank 0 of a run.
std::map<int64_t, std::string> stateHashes(const std::string& run_dir) {
  std::map<int64_t, std::string> out;
  for (const auto& [step, j] : stepRecords(run_dir)) {
    if (j.contains("state_hash")) out[step] = j.at("state_hash").get<std::string>();
  }
  return out;
}

}  // namespace

ReplayResult replayInterval(const ReplayRequest& r, collectives::Communicator& world) {
  if (r.to <= r.from) {
    throw UsageError(fmt::format("--to ({}) must be after --from ({})", r.to, r.from));
  }
  // 1.
  const std::string k1 = verify::checkpointDir(r.run_dir, r.from);
  const std::string k2 = verify::checkpointDir(r.run_dir, r.to);
  for (const auto& [k, dir] : {std::pair{r.from, k1}, std::pair{r.to, k2}}) {
    if (!std::filesystem::exists(dir)) {
      throw UsageError(
          fmt::format("{} has no checkpoint at step {} (expected {})", r.run_dir, k, dir));
    }
  }
  auto original_end = verify::CheckpointReader::open(k2);
  original_end.verifyAll();
  auto start = verify::CheckpointReader::open(k1);
  const auto& m = start.manifest();
  auto spec = jobs::parseJobSpec(m.job_spec_text, m.jobPath());
  const int64_t tp = spec.parallel.tp;
  spec.parallel = jobs::ParallelSpec{};
  spec.parallel.tp = tp;
  if (!r.data_path.empty()) spec.data.path = r.data_path;
  // 2.
  ReplayResult result;
  result.out = r.out.empty() ? fmt::format("{}/replay-{}-{}", r.run_dir, r.from, r.to) : r.out;
  TrainerOptions opts;
  opts.output_dir = result.out;
  opts.max_steps = r.to;
  opts.start_checkpoint = k1;
  opts.show_progress = false;
  Trainer trainer(spec, world, opts);
  const auto trained = trainer.run();
  if (world.rank() != 0) return result;
  // 3.
  const auto original = stateHashes(r.run_dir), replayed = stateHashes(result.out);
  for (int64_t step = r.from + 1; step <= r.to; ++step) {
    auto a = original.find(step), b = replayed.find(step);
    if (a == original.end() || b == replayed.end()) continue;
    if (a->second != b->second) {
      throw VerificationError(fmt::format(
          "replay of {} on {} rank(s) diverges at step {}: the run recorded state hash {}, the "
          "replay computed {}",
          r.run_dir, world.size(), step, a->second, b->second));
    }
    ++result.steps_compared;
  }
  if (trained.checkpoint_root != original_end.root().hex()) {
    throw VerificationError(fmt::format(
        "replay of {} steps {}..{} on {} rank(s) ends at root {}, the run's checkpoint {} has {}",
        r.run_dir, r.from, r.to, world.size(), trained.checkpoint_root, r.to,
        original_end.root().hex()));
  }
  result.root = trained.checkpoint_root;
  return result;
}

}  // namespace mlcp::runtime
