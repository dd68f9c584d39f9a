#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "app/commands.h"
#include "base/error.h"
#include "collectives/mpi/mpi_communicator.h"
#include "collectives/mpi/mpi_runtime.h"
#include "runtime/chain_dispute.h"
#include "runtime/dispute.h"

namespace mlcp::app {
namespace {

std::string shortHash(const std::string& h) { return h.size() > 16 ? h.substr(0, 16) : h; }

void dispute(const std::string& run_a, const std::string& run_b, std::string out, bool json) {
  for (const auto& r : {run_a, run_b}) {
    if (!std::filesystem::is_directory(r))
      throw UsageError(fmt::format("{} is not a run directory", r));
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

}  // namespace

void addDisputeCommand(CLI::App& verify) {
  auto* cmd = verify.add_subcommand(
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
  auto chain = std::make_shared<runtime::ChainDisputeRequest>();
  cmd->add_option("--rpc", chain->rpc,
                  "Play on the protocol chain at this node: RUN_A is the solver's run, RUN_B the "
                  "challenger's (with --contract, --job and the three keys)");
  cmd->add_option("--contract", chain->contract, "The MlcpJobs contract (with --rpc)");
  cmd->add_option("--job", chain->job, "The on-chain job id (with --rpc)");
  cmd->add_option("--solver-key", chain->solver_key, "The solver's key file (with --rpc)");
  cmd->add_option("--challenger-key", chain->challenger_key,
                  "The challenger's key file (with --rpc)");
  cmd->add_option("--referee-key", chain->referee_key, "The referee's key file (with --rpc)");
  cmd->callback([=] {
    if (chain->rpc.empty()) return dispute(*a, *b, *out, *json);
    if (chain->contract.empty() || chain->solver_key.empty() || chain->challenger_key.empty() ||
        chain->referee_key.empty()) {
      throw UsageError(
          "--rpc needs --contract, --job, --solver-key, --challenger-key and --referee-key");
    }
    auto request = *chain;
    request.solver_run = *a;
    request.challenger_run = *b;
    request.work_dir = *out;
    collectives::MpiRuntime mpi;
    collectives::MpiCommunicator self(MPI_COMM_WORLD);
    const auto o = runtime::playChainDispute(request, self, [](const std::string& line) {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    });
    fmt::print("{}\n", o.summary);
  });
}

}  // namespace mlcp::app
