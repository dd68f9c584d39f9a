// `mlcp solver serve`: the solver's side of a market task after its run committed the roots
// (bridge/task_solver.h; docs/bridge-protocol.md part 2). One process per task, until the task
// ended and the solver was paid:
//  1. serve the input states of proven samples: a verifier's request in the exchange folder
//     (bridge/state_exchange.h) is checked against its on-chain sample commitment, then state
//     k-1 of each of its sampled checkpoints k is copied to it — nothing else, nothing earlier
//     than the final root;
//  2. reveal the seed in (T2, T3] (forced errors);
//  3. once the states may be public (the seed revealed; without forced errors after T1), publish
//     every checkpoint of the task (the next task's solver, challengers and referees start
//     there);
//  4. answer a challenge: play the solver's side of the bisection from its run folder
//     (app/task_dispute.h), and claim a challenger's missed move with `timeout`;
//  5. settle after the window (once the previous task settled) and withdraw.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>

#include "app/commands.h"
#include "app/market_role.h"
#include "app/task_dispute.h"
#include "base/error.h"
#include "bridge/journaled_sender.h"
#include "bridge/market_client.h"
#include "bridge/state_exchange.h"
#include "bridge/task_solver.h"
#include "bridge/watch_loop.h"
#include "collectives/mpi/mpi_communicator.h"
#include "collectives/mpi/mpi_runtime.h"
#include "verify/checkpoint.h"

namespace mlcp::app {
namespace {

struct ServeOptions : MarketRoleOptions {
  std::string run_dir, journal;
  uint64_t task = 0;
};

void say(const std::string& line) { sayAs("solver", line); }

void serve(const ServeOptions& o) {
  if (!std::filesystem::is_directory(o.run_dir)) {
    throw UsageError(fmt::format("--run {} is not a run folder", o.run_dir));
  }
  collectives::MpiRuntime mpi;
  collectives::MpiCommunicator self(MPI_COMM_SELF);
  bridge::ChainClient chain(o.rpc);
  const bridge::Address market_address = bridge::parseAddress(o.market, "--market");
  bridge::MarketClient market(chain, market_address);
  const bridge::EthKey key = bridge::EthKey::load(o.key);
  const bridge::U256 task(o.task);
  bridge::JournaledSender journal(
      chain, o.journal.empty() ? o.run_dir + "/bridge-journal.jsonl" : o.journal);
  market.setSender(journal.sender());
  bridge::JobsClient& jobs = market.jobs();
  bridge::SolverTask solver(market, key, task,
                            bridge::solverStatePath(o.key, market_address, task));
  const bridge::StateExchange exchange(o.exchange);
  const bridge::JobInfo info = jobs.job(task);
  const bridge::TaskInfo t = market.task(task);
  if (!t.isMarketTask())
    throw UsageError(fmt::format("{} is not a task of market {}", o.task, o.market));
  if (info.solver != key.address()) {
    throw UsageError(fmt::format("task {} was accepted by {}, not by {} ({})", o.task,
                                 bridge::checksumAddress(info.solver), key.addressHex(), o.key));
  }
  const int64_t every = info.steps_per_checkpoint;
  const int64_t start = int64_t(t.index - 1) * info.num_checkpoints * every;
  const int64_t end = start + int64_t(info.num_checkpoints) * every;
  auto checkpointOf = [&](int64_t step) {
    const std::string dir = verify::checkpointDir(o.run_dir, step);
    if (!std::filesystem::is_directory(dir)) {
      throw UsageError(fmt::format("{} has no checkpoint at step {} (task {} covers steps {}..{})",
                                   o.run_dir, step, o.task, start, end));
    }
    return dir;
  };
  say(fmt::format("serving task {} (steps {}..{}) of market {} from {}", o.task, start + 1, end,
                  o.market, o.run_dir));
  std::set<std::string> served;
  bool published = false;
  std::unique_ptr<RunHashes> hashes;
  bridge::WatchOptions wo;
  wo.poll_s = o.poll_s;
  wo.log = say;
  bridge::watch(
      [&] {
        const bridge::JobInfo job = jobs.job(task);
        const bool finished = job.state == bridge::JobState::kSettled ||
                              job.state == bridge::JobState::kSolverFailed ||
                              job.state == bridge::JobState::kVoided ||
                              job.state == bridge::JobState::kCancelled;
        // 1.
        if (job.state == bridge::JobState::kCommitted || job.state == bridge::JobState::kDisputed) {
          for (const bridge::SampleProof& p : exchange.requests(task)) {
            const std::string id = fmt::format("{}:{}", p.slot, bridge::toHex(p.secret));
            if (served.count(id) != 0) continue;
            served.insert(id);
            std::vector<uint64_t> sample;
            try {
              sample = solver.provenSample(p.slot, p.verifier, p.secret);
            } catch (const VerificationError& e) {
              say(fmt::format("refused slot {}: {}", p.slot, e.what()));
              continue;
            }
            for (uint64_t k : sample) {
              const int64_t step = start + int64_t(k - 1) * every;
              bridge::StateExchange::publishFolder(
                  checkpointOf(step), exchange.servedDir(task, p.slot) + "/checkpoints/" +
                                          verify::checkpointDirName(step));
              say(fmt::format("served slot {} ({}) the input of checkpoint {}: step {}", p.slot,
                              bridge::checksumAddress(p.verifier), k, step));
            }
          }
        }
        // 2.
        if (auto r = solver.revealIfDue()) {
          say(fmt::format("seed revealed{} (gas {})",
                          solver.state().forced_checkpoint == 0
                              ? std::string(": nothing was forced")
                              : fmt::format(": checkpoint {} was forced, its true root {} now "
                                            "stands",
                                            solver.state().forced_checkpoint,
                                            bridge::toHex(solver.state().true_root)),
                          r->gas_used));
          return false;
        }
        // 3.
        if (!published && !finished && solver.statesPublic()) {
          for (int64_t step = start; step <= end; step += every) {
            bridge::StateExchange::publishFolder(
                checkpointOf(step),
                exchange.publicDir(task) + "/checkpoints/" + verify::checkpointDirName(step));
          }
          published = true;
          say(fmt::format("published the task's checkpoints (steps {}..{}) in {}", start, end,
                          exchange.publicDir(task)));
        }
        // 4.
        if (job.state == bridge::JobState::kDisputed) {
          const bridge::DisputeInfo d = jobs.dispute(task);
          if (d.phase == bridge::DisputePhase::kVerdict) return false;  // the referees' turn
          const uint64_t now = chain.latestTimestamp();
          const bool challenger_turn =
              d.phase != bridge::DisputePhase::kOperatorCount && !d.solver_turn;
          if (challenger_turn && now > d.deadline) {
            jobs.timeout(key, task);
            say("the challenger missed its move: timed out");
            return false;
          }
          if (!hashes) {
            hashes = std::make_unique<RunHashes>("solver", o.run_dir, start, every,
                                                 o.run_dir + "/chain-dispute", self);
          }
          bridge::DisputePlayer player(jobs, key, task, bridge::DisputeRole::kSolver,
                                       hashes->hashes());
          const std::string move = player.move();
          if (!move.empty()) say("dispute: " + move);
          return false;
        }
        // 5.
        if (job.state == bridge::JobState::kCommitted && chain.latestTimestamp() > job.window_end) {
          const bool seed_ok = !t.seedRequired() || market.task(task).seedRevealed();
          const bool predecessor_settled =
              t.index == 1 || jobs.job(task - bridge::U256(1)).state == bridge::JobState::kSettled;
          if (seed_ok && predecessor_settled) {
            const auto r = jobs.settle(key, task);
            say(fmt::format("settled (gas {})", r.gas_used));
          }
          return false;
        }
        if (finished) {
          const bridge::U256 owed = jobs.owed(key.address());
          if (!owed.isZero()) {
            const auto r = jobs.withdraw(key);
            say(fmt::format("withdrew {} wei (gas {})", owed.toDecimal(), r.gas_used));
            return false;
          }
          say(fmt::format("task {} ended: {}", o.task, bridge::toString(job.state)));
          return true;
        }
        return false;
      },
      wo);
}

}  // namespace

void addSolverCommands(CLI::App& app) {
  CLI::App* solver =
      app.add_subcommand("solver", "The solver's side of a market task after its run");
  solver->require_subcommand(1);
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = solver->add_subcommand(
      "serve",
      "Serve proven samples, reveal the seed, publish states, answer challenges, settle and "
      "withdraw, until the task ended");
  addMarketRoleOptions(*cmd, *o, "The solver's chain key file (the one that accepted the task)");
  cmd->add_option("--task", o->task, "Task id")->required();
  cmd->add_option("--run", o->run_dir, "The run folder that trained the task")->required();
  cmd->add_option(
      "--journal", o->journal,
      "Where this process journals its transactions (default RUN/bridge-journal.jsonl)");
  cmd->callback([o] { serve(*o); });
}

}  // namespace mlcp::app
