#include "app/task_dispute.h"

#include <fmt/format.h>

#include "app/job_binding.h"
#include "base/error.h"
#include "runtime/referee.h"
#include "verify/checkpoint.h"

namespace mlcp::app {

RunHashes::RunHashes(const std::string& name, const std::string& run_dir, int64_t task_start,
                     int64_t every, std::string work_dir, collectives::Communicator& self)
    : party_(runtime::openDisputeParty(name, run_dir)),
      spec_(party_.spec()),
      start_(task_start),
      every_(every),
      work_dir_(std::move(work_dir)),
      self_(self) {}

const runtime::StepReexecution& RunHashes::reexecution(int64_t global_step) {
  auto it = cache_.find(global_step);
  if (it != cache_.end()) return it->second;
  // From the party's checkpoint at the start of the interval holding the step.
  const int64_t from = start_ + (global_step - start_ - 1) / every_ * every_;
  if (party_.dirs.count(from) == 0) {
    throw UsageError(fmt::format("{} has no checkpoint at step {} to re-execute step {} from",
                                 party_.run_dir, from, global_step));
  }
  return cache_
      .emplace(global_step,
               runtime::reexecuteStep(party_, spec_, from, global_step, work_dir_, self_))
      .first->second;
}

bridge::PartyHashes RunHashes::hashes() {
  bridge::PartyHashes h;
  h.step_hash = [this](uint64_t checkpoint, uint64_t position) {
    return toHash32(party_.hashAfter(start_ + static_cast<int64_t>((checkpoint - 1)) * every_ +
                                     static_cast<int64_t>(position)));
  };
  h.num_ops = [this](uint64_t step) {
    return static_cast<uint32_t>(
        reexecution(start_ + static_cast<int64_t>(step)).trace.operators().size());
  };
  h.operator_hash = [this](uint64_t step, uint64_t q, uint32_t n) {
    const int64_t s = start_ + static_cast<int64_t>(step);
    if (q == 0) return toHash32(party_.hashAfter(s - 1));
    if (q == n + 1u) return toHash32(party_.hashAfter(s));
    return toHash32(reexecution(s).prefix.at(q - 1));
  };
  return h;
}

std::optional<RefereeFinding> refereeFinding(const bridge::DisputeInfo& d,
                                             const std::string& agreed_checkpoint_dir,
                                             int64_t agreed_step, int64_t task_start,
                                             const std::string& work_dir,
                                             collectives::Communicator& self) {
  const uint64_t q = d.hi;
  if (q < 1 || q > d.num_ops) return std::nullopt;
  // The honest party: the agreed checkpoint, no fault.
  runtime::DisputeParty honest;
  honest.name = "referee";
  honest.run_dir = agreed_checkpoint_dir;
  honest.dirs[agreed_step] = agreed_checkpoint_dir;
  {
    const auto reader = verify::CheckpointReader::open(agreed_checkpoint_dir);
    if (reader.step() != agreed_step) {
      throw UsageError(fmt::format("{} is the checkpoint of step {}, not {}", agreed_checkpoint_dir,
                                   reader.step(), agreed_step));
    }
    honest.job_text = reader.manifest().job_spec_text;
    honest.job_path = reader.manifest().jobPath();
    honest.roots[agreed_step] = reader.root();
  }
  const jobs::JobSpec spec = honest.spec();
  const int64_t step = task_start + static_cast<int64_t>(d.step);
  const auto run = runtime::reexecuteStep(honest, spec, agreed_step, step, work_dir, self);
  if (run.trace.operators().size() != d.num_ops) {
    // The solver claimed another operator count: its claims cannot be this step's.
    return RefereeFinding{false, fmt::format("step {} has {} operators, the solver claimed {}",
                                             d.step, run.trace.operators().size(), d.num_ops)};
  }
  const verify::Hash256 prev = q == 1 ? verify::Hash256{} : run.prefix.at(q - 2);
  runtime::Referee referee(spec, self);
  const auto h = runtime::hashOperatorOutputs(referee.recompute(run.trace, q - 1));
  const auto& op = run.trace.operators().at(q - 1);
  RefereeFinding f;
  f.solver_correct = toHash32(verify::chainHash(prev, h)) == d.solver_hash_hi;
  f.description = fmt::format("step {} of the task (global {}), operator {} of {}: {} ({})", d.step,
                              step, q - 1, d.num_ops, op.name, op.id.describe());
  return f;
}

}  // namespace mlcp::app
