// `mlcp referee watch`: a member of a market's referee committee (issue #17, part 6). It watches
// the market's tasks and, for every dispute that reached its Verdict phase in a job whose
// committee it belongs to (or whose referee it is):
//  1. takes the agreed input — checkpoint k-1 of the disputed interval, which the task's solver
//     published once its seed was revealed (bridge/state_exchange.h) and whose root is on chain;
//  2. re-executes the disputed step from it and recomputes the one disputed operator from the
//     agreed inputs (app/task_dispute.h: runtime::Referee);
//  3. signs the verdict for this dispute (bridge/verdict.h) and posts the signature to the
//     exchange folder, where a relayer (the challenging verifier) collects k of them and sends
//     resolveSigned. A referee sends no transaction and needs no funds.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>

#include "app/commands.h"
#include "app/market_role.h"
#include "app/task_dispute.h"
#include "base/error.h"
#include "bridge/market_client.h"
#include "bridge/state_exchange.h"
#include "bridge/verdict.h"
#include "bridge/watch_loop.h"
#include "collectives/mpi/mpi_communicator.h"
#include "collectives/mpi/mpi_runtime.h"
#include "verify/checkpoint.h"

namespace mlcp::app {
namespace {

struct RefereeOptions : MarketRoleOptions {
  std::string work;
  int64_t verdicts = 0;  // stop after this many signed verdicts (0: never)
};

void say(const std::string& line) { sayAs("referee", line); }

void watchAsReferee(const RefereeOptions& o) {
  collectives::MpiRuntime mpi;
  collectives::MpiCommunicator self(MPI_COMM_SELF);
  bridge::ChainClient chain(o.rpc);
  const bridge::Address market_address = bridge::parseAddress(o.market, "--market");
  bridge::MarketClient market(chain, market_address);
  const bridge::EthKey key = bridge::EthKey::load(o.key);
  bridge::StateExchange exchange(o.exchange);
  const std::string work = o.work.empty() ? o.exchange + "/referee-work" : o.work;
  say(fmt::format("{} watching market {} for verdicts to sign", key.addressHex(), o.market));
  std::set<std::string> signed_disputes;
  int64_t count = 0;
  bridge::WatchOptions wo;
  wo.poll_s = o.poll_s;
  wo.log = say;
  bridge::watch(
      [&] {
        for (const bridge::U256& first : market.marketJobs()) {
          const bridge::GroupInfo g = market.group(first);
          bool member = false;
          if (g.committee != 0) {
            for (const auto& m : market.committee(g.committee).members)
              member |= m == key.address();
          } else {
            member = market.jobs().job(first).referee == key.address();
          }
          if (!member) continue;
          for (uint32_t t = 0; t < g.num_tasks; ++t) {
            const bridge::U256 task = first + bridge::U256(t);
            const bridge::JobInfo job = market.jobs().job(task);
            if (job.state != bridge::JobState::kDisputed) continue;
            const bridge::DisputeInfo d = market.jobs().dispute(task);
            if (d.phase != bridge::DisputePhase::kVerdict) continue;
            const bridge::U256 dispute = market.jobs().disputeId(task);
            const std::string id = task.toDecimal() + "/" + dispute.toDecimal();
            if (signed_disputes.count(id) != 0) continue;
            // 1.
            const int64_t every = job.steps_per_checkpoint;
            const int64_t start =
                int64_t(market.task(task).index - 1) * job.num_checkpoints * every;
            const int64_t agreed_step = start + int64_t(d.checkpoint - 1) * every;
            const std::string agreed =
                exchange.publicDir(task) + "/checkpoints/" + verify::checkpointDirName(agreed_step);
            if (!std::filesystem::is_directory(agreed)) continue;  // not published yet
            const auto reader = verify::CheckpointReader::open(agreed);
            const bridge::Hash32 agreed_root = [&] {
              bridge::Hash32 h{};
              std::copy(reader.root().bytes.begin(), reader.root().bytes.end(), h.begin());
              return h;
            }();
            const bridge::Hash32 on_chain =
                d.checkpoint == 1 ? job.initial_root : market.jobs().root(task, d.checkpoint - 1);
            if (agreed_root != on_chain) {
              say(
                  fmt::format("task {}: the published checkpoint of step {} has root {}, the "
                              "chain {}: not the agreed input, not signing",
                              task.toDecimal(), agreed_step, bridge::toHex(agreed_root),
                              bridge::toHex(on_chain)));
              signed_disputes.insert(id);
              continue;
            }
            // 2.
            const auto finding = refereeFinding(d, agreed, agreed_step, start,
                                                work + "/task-" + task.toDecimal(), self);
            signed_disputes.insert(id);
            if (!finding) {
              say(
                  fmt::format("task {}: the game ended on the step's output, not on an "
                              "operator: nothing to recompute",
                              task.toDecimal()));
              continue;
            }
            // 3.
            bridge::Verdict v;
            v.chain_id = chain.chainId();
            v.contract = market_address;
            v.job_id = task;
            v.dispute_id = dispute;
            v.solver_correct = finding->solver_correct;
            exchange.postVerdict(bridge::signVerdict(v, key));
            say(
                fmt::format("task {} dispute {}: {}; recomputed from the agreed inputs: the {} is "
                            "right (signed)",
                            task.toDecimal(), dispute.toDecimal(), finding->description,
                            finding->solver_correct ? "solver" : "challenger"));
            ++count;
          }
        }
        return o.verdicts > 0 && count >= o.verdicts;
      },
      wo);
}

}  // namespace

void addRefereeCommands(CLI::App& app) {
  CLI::App* referee = app.add_subcommand("referee", "A member of a market's referee committee");
  referee->require_subcommand(1);
  auto o = std::make_shared<RefereeOptions>();
  CLI::App* cmd = referee->add_subcommand(
      "watch",
      "Recompute the disputed operator of every dispute that needs this referee's "
      "verdict, and post the signed verdict");
  addMarketRoleOptions(*cmd, *o, "The referee's chain key file (signs; sends nothing)");
  cmd->add_option("--work", o->work, "Where re-executions go (default EXCHANGE/referee-work)");
  cmd->add_option("--verdicts", o->verdicts, "Exit after signing this many verdicts (0: never)")
      ->capture_default_str();
  cmd->callback([o] { watchAsReferee(*o); });
}

}  // namespace mlcp::app
