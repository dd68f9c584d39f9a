#include "runtime/cli/replay_command.h"

#include <filesystem>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "collectives/mpi/mpi_communicator.h"
#include "collectives/mpi/mpi_runtime.h"
#include "jobs/job_spec.h"
#include "runtime/error.h"
#include "runtime/metrics.h"
#include "runtime/trainer.h"
#include "verify/checkpoint.h"

namespace mlcp::cli {
namespace {

// step -> state_hash recorded by rank 0 of a run.
std::map<int64_t, std::string> stateHashes(const std::string& run_dir) {
  std::map<int64_t, std::string> out;
  for (const auto& [step, j] : runtime::stepRecords(run_dir)) {
    if (j.contains("state_hash")) out[step] = j.at("state_hash").get<std::string>();
  }
  return out;
}

// Replay, as numbered steps:
//  1. Open checkpoint K1 of RUN_DIR verified (hashes, root, signature); its manifest carries the
//     job file's text, so the replay needs nothing but the run directory.
//  2. Train steps K1+1..K2 from it on this placement into OUT (default RUN_DIR/replay-K1-K2),
//     recording per-step state hashes and checkpoints like the original.
//  3. Compare the state hash of every step with the original run's record: the first step that
//     differs is reported; then compare the root of the replayed checkpoint K2 with the
//     original's checkpoint K2 (re-verified).
void replay(const std::string& run_dir, int64_t from, int64_t to, std::string out) {
  if (to <= from) throw UsageError(fmt::format("--to ({}) must be after --from ({})", to, from));
  collectives::MpiRuntime mpi;
  collectives::MpiCommunicator world(MPI_COMM_WORLD);
  // 1.
  const std::string k1 = verify::checkpointDir(run_dir, from);
  if (!std::filesystem::exists(k1)) {
    throw UsageError(fmt::format("{} has no checkpoint at step {} (expected {})", run_dir, from, k1));
  }
  const std::string k2 = verify::checkpointDir(run_dir, to);
  auto original_end = verify::CheckpointReader::open(k2);
  original_end.verifyAll();
  auto start = verify::CheckpointReader::open(k1);
  const auto& m = start.manifest();
  std::string job_path = m.plan_text.substr(m.plan_text.rfind("source ") + 7);
  auto spec = jobs::parseJobSpec(m.job_spec_text, job_path);
  // The placement is this command's (launched on any number of processes), not the run's: the
  // numbers do not depend on dp or pp. The tensor-parallel degree is part of the numbers
  // (splitting a matmul changes its float sums): a tp run replays on a multiple of tp ranks.
  const int64_t tp = spec.parallel.tp;
  spec.parallel = jobs::ParallelSpec{};
  spec.parallel.tp = tp;
  // 2.
  if (out.empty()) out = fmt::format("{}/replay-{}-{}", run_dir, from, to);
  runtime::TrainerOptions opts;
  opts.output_dir = out;
  opts.max_steps = to;
  opts.start_checkpoint = k1;
  opts.show_progress = false;
  runtime::Trainer trainer(spec, world, opts);
  const auto r = trainer.run();
  if (world.rank() != 0) return;
  // 3.
  const auto original = stateHashes(run_dir), replayed = stateHashes(out);
  for (int64_t step = from + 1; step <= to; ++step) {
    auto a = original.find(step), b = replayed.find(step);
    if (a == original.end() || b == replayed.end()) continue;
    if (a->second != b->second) {
      throw VerificationError(fmt::format(
          "replay of {} on {} rank(s) diverges at step {}: the run recorded state hash {}, the "
          "replay computed {}",
          run_dir, world.size(), step, a->second, b->second));
    }
  }
  if (r.checkpoint_root != original_end.root().hex()) {
    throw VerificationError(fmt::format(
        "replay of {} steps {}..{} on {} rank(s) ends at root {}, the run's checkpoint {} has {}",
        run_dir, from, to, world.size(), r.checkpoint_root, to, original_end.root().hex()));
  }
  fmt::print("match: steps {}..{} of {} replayed on {} rank(s); {} per-step state hashes and the "
             "checkpoint root {} agree\n",
             from, to, run_dir, world.size(), to - from, r.checkpoint_root);
}

}  // namespace

void addReplayCommand(CLI::App& app) {
  CLI::App* verify = nullptr;
  try {
    verify = app.get_subcommand("verify");
  } catch (const CLI::OptionNotFound&) {
    verify = app.add_subcommand("verify", "Verify checkpoints and replay runs");
  }
  verify->require_subcommand(1);
  auto* cmd = verify->add_subcommand(
      "replay", "Recompute a run's checkpoint interval on this placement and compare hashes");
  auto run_dir = std::make_shared<std::string>();
  auto from = std::make_shared<int64_t>(0);
  auto to = std::make_shared<int64_t>(0);
  auto out = std::make_shared<std::string>();
  cmd->add_option("run_dir", *run_dir, "The run directory (holds checkpoints/ and metrics/)")
      ->required();
  cmd->add_option("--from", *from, "Start at this checkpoint's step")->required();
  cmd->add_option("--to", *to, "End at this checkpoint's step")->required();
  cmd->add_option("--out", *out, "Where the replay writes (default RUN_DIR/replay-K1-K2)");
  cmd->callback([=] { replay(*run_dir, *from, *to, *out); });
}

}  // namespace mlcp::cli
