#include "runtime/chain_dispute.h"

#include <fmt/format.h>

#include <map>

#include "base/error.h"
#include "bridge/dispute_player.h"
#include "bridge/eth_key.h"
#include "bridge/jobs_client.h"
#include "runtime/dispute.h"
#include "runtime/referee.h"

namespace mlcp::runtime {
namespace {

bridge::Hash32 toHash32(const verify::Hash256& h) {
  bridge::Hash32 out{};
  std::copy(h.bytes.begin(), h.bytes.end(), out.begin());
  return out;
}

// Each party's re-executions of the disputed interval's steps, made once and kept.
class Reexecutions {
 public:
  Reexecutions(const jobs::JobSpec& spec, int64_t from, std::string work_dir,
               collectives::Communicator& self)
      : spec_(spec), from_(from), work_dir_(std::move(work_dir)), self_(self) {}

  const StepReexecution& of(const DisputeParty& p, int64_t step) {
    auto& cache = cache_[p.name];
    auto it = cache.find(step);
    if (it == cache.end()) {
      it =
          cache.emplace(step, reexecuteStep(p, spec_, from_, step, work_dir_ + "/" + p.name, self_))
              .first;
    }
    return it->second;
  }

 private:
  const jobs::JobSpec& spec_;
  int64_t from_;
  std::string work_dir_;
  collectives::Communicator& self_;
  std::map<std::string, std::map<int64_t, StepReexecution>> cache_;
};

// What a party claims at each position of the on-chain game (bridge/dispute_player.h).
bridge::PartyHashes hashesOf(const DisputeParty& p, int64_t every, Reexecutions& runs) {
  bridge::PartyHashes h;
  h.step_hash = [&p, every](uint64_t checkpoint, uint64_t position) {
    return toHash32(p.hashAfter(static_cast<int64_t>((checkpoint - 1) * every + position)));
  };
  h.num_ops = [&p, &runs](uint64_t step) {
    return static_cast<uint32_t>(runs.of(p, static_cast<int64_t>(step)).trace.operators().size());
  };
  h.operator_hash = [&p, &runs](uint64_t step, uint64_t q, uint32_t n) {
    const int64_t s = static_cast<int64_t>(step);
    if (q == 0) return toHash32(p.hashAfter(s - 1));
    if (q == n + 1u) return toHash32(p.hashAfter(s));
    return toHash32(runs.of(p, s).prefix.at(q - 1));
  };
  return h;
}

// 1. The first commitment whose root is not the challenger's own (0: none).
int64_t firstDisagreement(bridge::JobsClient& jobs, const bridge::U256& id, uint32_t committed,
                          int64_t every, const DisputeParty& challenger) {
  for (uint32_t i = 1; i <= committed; ++i) {
    auto mine = challenger.roots.find(static_cast<int64_t>(i) * every);
    if (mine == challenger.roots.end()) {
      throw UsageError(
          fmt::format("{} has no checkpoint at step {}", challenger.run_dir, i * every));
    }
    if (jobs.root(id, i) != toHash32(mine->second)) return i;
  }
  return 0;
}

}  // namespace

ChainDisputeOutcome playChainDispute(const ChainDisputeRequest& r, collectives::Communicator& self,
                                     const std::function<void(const std::string&)>& log) {
  if (self.size() != 1) throw UsageError("mlcp verify dispute --rpc runs on one process");
  const std::string work_dir =
      r.work_dir.empty() ? r.challenger_run + "/chain-dispute" : r.work_dir;
  const auto solver = openDisputeParty("solver", r.solver_run);
  const auto challenger = openDisputeParty("challenger", r.challenger_run);
  if (solver.spec().canonicalText() != challenger.spec().canonicalText()) {
    throw UsageError(
        fmt::format("{} and {} are not runs of the same job", r.solver_run, r.challenger_run));
  }
  const auto spec = solver.spec();
  bridge::ChainClient chain(r.rpc);
  bridge::JobsClient jobs(chain, bridge::parseAddress(r.contract, "--contract"));
  const bridge::U256 id(r.job);
  const auto info = jobs.job(id);
  const int64_t every = info.steps_per_checkpoint;
  if (every != spec.checkpoint.every) {
    throw UsageError(
        fmt::format("job {} on chain has {} steps per checkpoint, the runs' job {} "
                    "(checkpoint.every)",
                    r.job, every, spec.checkpoint.every));
  }
  const auto solver_key = bridge::EthKey::load(r.solver_key);
  const auto challenger_key = bridge::EthKey::load(r.challenger_key);
  const auto referee_key = bridge::EthKey::load(r.referee_key);
  ChainDisputeOutcome o;
  // 1.
  const int64_t k = firstDisagreement(jobs, id, info.committed, every, challenger);
  if (k == 0) {
    o.summary =
        fmt::format("no dispute: the {} roots committed for job {} are the challenger's own",
                    info.committed, r.job);
    return o;
  }
  o.disputed = true;
  o.checkpoint = k;
  jobs.challenge(challenger_key, id, static_cast<uint64_t>(k),
                 toHash32(challenger.roots.at(k * every)));
  log(fmt::format(
      "challenge: checkpoint {} (steps {}..{}): committed root {} vs the challenger's {}", k,
      (k - 1) * every + 1, k * every, bridge::toHex(jobs.root(id, static_cast<uint64_t>(k))),
      challenger.roots.at(k * every).hex()));
  // 2.
  Reexecutions runs(spec, (k - 1) * every, work_dir, self);
  bridge::DisputePlayer solver_player(jobs, solver_key, id, bridge::DisputeRole::kSolver,
                                      hashesOf(solver, every, runs));
  bridge::DisputePlayer challenger_player(jobs, challenger_key, id,
                                          bridge::DisputeRole::kChallenger,
                                          hashesOf(challenger, every, runs));
  for (; o.moves < 200; ++o.moves) {
    const auto d = jobs.dispute(id);
    if (d.phase == bridge::DisputePhase::kVerdict || d.phase == bridge::DisputePhase::kNone) break;
    const std::string a = solver_player.move();
    if (!a.empty()) log("solver:     " + a);
    const std::string b = challenger_player.move();
    if (!b.empty()) log("challenger: " + b);
    if (a.empty() && b.empty()) throw VerificationError("neither party has a move to make");
  }
  // 3.
  const auto d = jobs.dispute(id);
  o.step = static_cast<int64_t>(d.step);
  if (d.phase != bridge::DisputePhase::kVerdict) {
    o.summary =
        fmt::format("the dispute ended without a verdict (phase {})", bridge::toString(d.phase));
    return o;
  }
  const uint64_t q = d.hi;
  if (q < 1 || q > d.num_ops) {
    throw VerificationError(fmt::format(
        "the bisection of step {} ended at position {} of {}: the parties agree on every operator "
        "but not on the step's output hash, so there is no single operator to recompute",
        d.step, q, d.num_ops + 1));
  }
  const auto& agreed = runs.of(challenger, o.step);
  const auto lo = q == 1 ? challenger.hashAfter(o.step - 1) : agreed.prefix.at(q - 2);
  if (toHash32(lo) != d.hash_lo) {
    throw VerificationError(
        "the challenger's re-execution does not reproduce the agreed hash at the "
        "bisection's lower end");
  }
  Referee referee(spec, self);
  const auto h = hashOperatorOutputs(referee.recompute(agreed.trace, q - 1));
  const verify::Hash256 prev = q == 1 ? verify::Hash256{} : agreed.prefix.at(q - 2);
  o.solver_correct = toHash32(verify::chainHash(prev, h)) == d.solver_hash_hi;
  jobs.resolve(referee_key, id, o.solver_correct);
  o.verdict = true;
  const auto& op = agreed.trace.operators().at(q - 1);
  o.operator_name = op.name;
  log(fmt::format(
      "referee: step {}, operator {} of {}: {} ({}); recomputed from the agreed inputs, "
      "the {} is right",
      d.step, q - 1, d.num_ops, op.name, op.id.describe(),
      o.solver_correct ? "solver" : "challenger"));
  o.summary = fmt::format("verdict on chain: {} wins ({} moves)",
                          o.solver_correct ? "solver" : "challenger", o.moves);
  return o;
}

}  // namespace mlcp::runtime
