#include <fmt/format.h>

#include <memory>

#include "app/commands.h"
#include "collectives/mpi/mpi_communicator.h"
#include "collectives/mpi/mpi_runtime.h"
#include "runtime/replay.h"

namespace mlcp::app {

void addReplayCommand(CLI::App& verify) {
  auto* cmd = verify.add_subcommand(
      "replay", "Recompute a run's checkpoint interval on this placement and compare hashes");
  auto request = std::make_shared<runtime::ReplayRequest>();
  cmd->add_option("run_dir", request->run_dir,
                  "The run directory (holds checkpoints/ and metrics/)")
      ->required();
  cmd->add_option("--from", request->from, "Start at this checkpoint's step")->required();
  cmd->add_option("--to", request->to, "End at this checkpoint's step")->required();
  cmd->add_option("--out", request->out, "Where the replay writes (default RUN_DIR/replay-K1-K2)");
  cmd->add_option("--data", request->data_path,
                  "This machine's copy of the job's data (its content is checked against the "
                  "checkpoint's data hash)");
  cmd->callback([=] {
    collectives::MpiRuntime mpi;
    collectives::MpiCommunicator world(MPI_COMM_WORLD);
    const auto r = runtime::replayInterval(*request, world);
    if (world.rank() != 0) return;
    fmt::print(
        "match: steps {}..{} of {} replayed on {} rank(s); {} per-step state hashes and the "
        "checkpoint root {} agree\n",
        request->from, request->to, request->run_dir, world.size(), r.steps_compared, r.root);
  });
}

}  // namespace mlcp::app
