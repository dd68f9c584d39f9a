#include "runtime/cli/dispute_command.h"

#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "bridge/dispute_player.h"
#include "bridge/eth_key.h"
#include "bridge/jobs_client.h"
#include "collectives/mpi/mpi_communicator.h"
#include "collectives/mpi/mpi_runtime.h"
#include "runtime/dispute.h"
#include "runtime/error.h"
#include "runtime/referee.h"

namespace mlcp::cli {
namespace {

std::string shortHash(const std::string& h) { return h.size() > 16 ? h.substr(0, 16) : h; }

void dispute(const std::string& run_a, const std::string& run_b, std::string out, bool json) {
  for (const auto& r : {run_a, run_b}) {
    if (!std::filesystem::is_directory(r)) throw UsageError(fmt::format("{} is not a run directory", r));
  }
  collectives::MpiRuntime mpi;
  collectives::MpiCommunicator world(MPI_COMM_WORLD);
  if (out.empty()) out = run_a + "/dispute";
  const auto o = runtime::runDispute(run_a, run_b, out, world);
  if (json) {
    fmt::print("{}\n", o.toJson().dump(2));
    return;
  }
  fmt::print("dispute: A = {}, B = {}\n", run_a, run_b);
  if (!o.disputed) {
    fmt::print("no dispute: {}\n", o.reason);
    return;
  }
  int round = 0;
  for (const auto& r : o.rounds) {
    fmt::print("round {:2} {:<10} {:>6}{}  A {}  B {}  {}\n", ++round, r.phase, r.position,
               r.label.empty() ? "" : " " + r.label, shortHash(r.claim_a), shortHash(r.claim_b),
               r.agree() ? "agree" : "differ");
  }
  fmt::print("checkpoints: agree at step {}, differ at step {} ({} rounds)\n", o.agreed_checkpoint,
             o.disputed_checkpoint, o.checkpoint_rounds);
  fmt::print("steps: first differing step {} ({} rounds over {} steps)\n", o.step, o.step_rounds,
             o.step_span);
  if (o.operator_index >= 0) {
    fmt::print("operators: {} of {}: {} ({}) — inputs agree, outputs differ ({} rounds)\n",
               o.operator_index, o.operator_count, o.operator_name, o.operator_description,
               o.operator_rounds);
    fmt::print("referee: recomputed {}; A claimed {}, B claimed {}\n", shortHash(o.referee),
               shortHash(o.claim_a), shortHash(o.claim_b));
  }
  const std::string who = o.wrong == "A" ? run_a : o.wrong == "B" ? run_b : "both runs";
  fmt::print("verdict: {} is wrong ({}): {}\nclaims: {}/claims.jsonl\n",
             o.wrong == "both" ? "each party" : "party " + o.wrong, who, o.reason, out);
}

struct ChainArgs {
  std::string rpc, contract, solver_key, challenger_key, referee_key;
  uint64_t job = 0;
};

bridge::Hash32 toHash32(const verify::Hash256& h) {
  bridge::Hash32 out{};
  std::copy(h.bytes.begin(), h.bytes.end(), out.begin());
  return out;
}

// The dispute played on the protocol chain (docs/bridge-protocol.md steps 3-6): SOLVER_RUN is
// the run whose roots the solver committed, CHALLENGER_RUN the challenger's own run of the same
// job. One process plays the three roles with their own keys — each move is a real transaction
// — from what each party's run directory and re-executions give (runtime/dispute.h):
//  1. the challenger finds the first checkpoint whose committed root differs from its own and
//     challenges it, posting its bond;
//  2. solver and challenger bisect on chain (bridge::DisputePlayer): over the steps of that
//     interval (checkpoint roots at the ends, recorded state hashes inside), then over the
//     operators of the one step (each party's re-executed prefix hashes);
//  3. the referee recomputes the one operator the game ends at from the challenger's agreed
//     prefix (runtime/referee.h) and posts whose output hash is right.
void chainDispute(const std::string& solver_run, const std::string& challenger_run, const ChainArgs& a,
                  std::string out) {
  collectives::MpiRuntime mpi;
  collectives::MpiCommunicator self(MPI_COMM_WORLD);
  if (self.size() != 1) throw UsageError("mlcp verify dispute --rpc runs on one process");
  if (out.empty()) out = challenger_run + "/chain-dispute";
  const auto solver = runtime::openDisputeParty("solver", solver_run);
  const auto challenger = runtime::openDisputeParty("challenger", challenger_run);
  if (solver.spec().canonicalText() != challenger.spec().canonicalText()) {
    throw UsageError(fmt::format("{} and {} are not runs of the same job", solver_run, challenger_run));
  }
  const auto spec = solver.spec();
  bridge::ChainClient chain(a.rpc);
  bridge::JobsClient jobs(chain, bridge::parseAddress(a.contract, "--contract"));
  const bridge::U256 id(a.job);
  const auto info = jobs.job(id);
  const int64_t every = info.steps_per_checkpoint;
  if (every != spec.checkpoint.every) {
    throw UsageError(fmt::format("job {} on chain has {} steps per checkpoint, the runs' job {} "
                                 "(checkpoint.every)", a.job, every, spec.checkpoint.every));
  }
  const auto solver_key = bridge::EthKey::load(a.solver_key);
  const auto challenger_key = bridge::EthKey::load(a.challenger_key);
  const auto referee_key = bridge::EthKey::load(a.referee_key);
  // 1.
  int64_t k = 0;
  for (uint32_t i = 1; i <= info.committed; ++i) {
    auto mine = challenger.roots.find(static_cast<int64_t>(i) * every);
    if (mine == challenger.roots.end()) {
      throw UsageError(fmt::format("{} has no checkpoint at step {}", challenger_run, i * every));
    }
    if (jobs.root(id, i) != toHash32(mine->second)) {
      k = i;
      break;
    }
  }
  if (k == 0) {
    fmt::print("no dispute: the {} roots committed for job {} are the challenger's own\n", info.committed, a.job);
    return;
  }
  jobs.challenge(challenger_key, id, static_cast<uint64_t>(k),
                 toHash32(challenger.roots.at(k * every)));
  fmt::print("challenge: checkpoint {} (steps {}..{}): committed root {} vs the challenger's {}\n", k,
             (k - 1) * every + 1, k * every, bridge::toHex(jobs.root(id, static_cast<uint64_t>(k))),
             challenger.roots.at(k * every).hex());
  // 2.
  const int64_t from = (k - 1) * every;
  std::map<std::string, std::map<int64_t, runtime::StepReexecution>> traces;
  auto traceOf = [&](const runtime::DisputeParty& p, int64_t step) -> const runtime::StepReexecution& {
    auto& cache = traces[p.name];
    auto it = cache.find(step);
    if (it == cache.end()) {
      it = cache.emplace(step, runtime::reexecuteStep(p, spec, from, step, out + "/" + p.name, self)).first;
    }
    return it->second;
  };
  auto hashesOf = [&](const runtime::DisputeParty& p) {
    bridge::PartyHashes h;
    h.step_hash = [&p, every](uint64_t checkpoint, uint64_t position) {
      return toHash32(p.hashAfter(static_cast<int64_t>((checkpoint - 1) * every + position)));
    };
    h.num_ops = [&p, &traceOf](uint64_t step) {
      return static_cast<uint32_t>(traceOf(p, static_cast<int64_t>(step)).trace.operators().size());
    };
    h.operator_hash = [&p, &traceOf](uint64_t step, uint64_t q, uint32_t n) {
      const int64_t s = static_cast<int64_t>(step);
      if (q == 0) return toHash32(p.hashAfter(s - 1));
      if (q == n + 1u) return toHash32(p.hashAfter(s));
      return toHash32(traceOf(p, s).prefix.at(q - 1));
    };
    return h;
  };
  bridge::DisputePlayer solver_player(jobs, solver_key, id, bridge::DisputeRole::kSolver, hashesOf(solver));
  bridge::DisputePlayer challenger_player(jobs, challenger_key, id, bridge::DisputeRole::kChallenger,
                                          hashesOf(challenger));
  int moves = 0;
  for (; moves < 200; ++moves) {
    const auto d = jobs.dispute(id);
    if (d.phase == bridge::DisputePhase::kVerdict || d.phase == bridge::DisputePhase::kNone) break;
    std::string what = solver_player.move();
    if (!what.empty()) fmt::print("solver:     {}\n", what);
    std::string other = challenger_player.move();
    if (!other.empty()) fmt::print("challenger: {}\n", other);
    if (what.empty() && other.empty()) throw VerificationError("neither party has a move to make");
  }
  // 3.
  const auto d = jobs.dispute(id);
  if (d.phase != bridge::DisputePhase::kVerdict) {
    fmt::print("the dispute ended without a verdict (phase {})\n", bridge::toString(d.phase));
    return;
  }
  const uint64_t q = d.hi;
  if (q < 1 || q > d.num_ops) {
    throw VerificationError(fmt::format(
        "the bisection of step {} ended at position {} of {}: the parties agree on every operator "
        "but not on the step's output hash, so there is no single operator to recompute",
        d.step, q, d.num_ops + 1));
  }
  const auto& agreed_run = traceOf(challenger, d.step);
  const auto& agreed = agreed_run.trace;
  const auto& prefix = agreed_run.prefix;
  const auto lo = q == 1 ? challenger.hashAfter(d.step - 1) : prefix.at(q - 2);
  if (toHash32(lo) != d.hash_lo) {
    throw VerificationError("the challenger's re-execution does not reproduce the agreed hash at the "
                            "bisection's lower end");
  }
  runtime::Referee referee(spec, self);
  const auto h = runtime::hashOperatorOutputs(referee.recompute(agreed, q - 1));
  verify::Blake2b256 next;
  const verify::Hash256 prev = q == 1 ? verify::Hash256{} : prefix.at(q - 2);
  next.update(prev.bytes.data(), prev.bytes.size());
  next.update(h.bytes.data(), h.bytes.size());
  const bool solver_correct = toHash32(next.finish()) == d.solver_hash_hi;
  jobs.resolve(referee_key, id, solver_correct);
  const auto& op = agreed.operators().at(q - 1);
  fmt::print("referee: step {}, operator {} of {}: {} ({}); recomputed from the agreed inputs, the {} "
             "is right\n",
             d.step, q - 1, d.num_ops, op.name, op.id.describe(), solver_correct ? "solver" : "challenger");
  fmt::print("verdict on chain: {} wins ({} moves)\n", solver_correct ? "solver" : "challenger", moves);
}

}  // namespace

void addDisputeCommand(CLI::App& app) {
  CLI::App* verify = app.get_subcommand("verify");
  auto* cmd = verify->add_subcommand(
      "dispute",
      "Bisect two runs of the same job to the first operator they disagree on and referee it");
  auto a = std::make_shared<std::string>();
  auto b = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("run_a", *a, "Run directory of party A")->required();
  cmd->add_option("run_b", *b, "Run directory of party B")->required();
  cmd->add_option("--out", *out, "Where re-executions and claims.jsonl go (default RUN_A/dispute)");
  cmd->add_flag("--json", *json, "Print the outcome, every round included, as JSON");
  auto chain = std::make_shared<ChainArgs>();
  cmd->add_option("--rpc", chain->rpc,
                  "Play on the protocol chain at this node: RUN_A is the solver's run, RUN_B the "
                  "challenger's (with --contract, --job and the three keys)");
  cmd->add_option("--contract", chain->contract, "The MlcpJobs contract (with --rpc)");
  cmd->add_option("--job", chain->job, "The on-chain job id (with --rpc)");
  cmd->add_option("--solver-key", chain->solver_key, "The solver's key file (with --rpc)");
  cmd->add_option("--challenger-key", chain->challenger_key, "The challenger's key file (with --rpc)");
  cmd->add_option("--referee-key", chain->referee_key, "The referee's key file (with --rpc)");
  cmd->callback([=] {
    if (chain->rpc.empty()) return dispute(*a, *b, *out, *json);
    if (chain->contract.empty() || chain->solver_key.empty() || chain->challenger_key.empty() ||
        chain->referee_key.empty()) {
      throw UsageError("--rpc needs --contract, --job, --solver-key, --challenger-key and --referee-key");
    }
    chainDispute(*a, *b, *chain, *out);
  });
}

}  // namespace mlcp::cli
