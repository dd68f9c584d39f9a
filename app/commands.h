// The `mlcp` binary's subcommands. Each add*Command(s) function adds its subcommands under the
// CLI11 app it is given; main.cc calls every one of them, in one list, and maps exceptions to
// exit codes (0 success, 1 runtime failure, 2 a user's mistake, 3 stopped on a signal). The work
// itself lives in the library folders; a command parses flags, calls them and prints.
#pragma once

#include <CLI/CLI.hpp>

namespace mlcp::app {

// `run JOB` (standalone or under mpirun / srun), `validate JOB`, `info`.
void addRunCommands(CLI::App& app);
// `plot RUN_DIR`: loss and accuracy curves to a PNG.
void addPlotCommand(CLI::App& app);
// `plan JOB [--devices D] [--ranks N] [--picture P] [--json]`: the placement a run of the job
// would use (runtime/placement.h), printed and drawn, without running it.
void addPlanCommand(CLI::App& app);
// `submit JOB [--dry-run]`, `status JOBID`, `logs JOBID`: the job as a Slurm batch job.
void addSubmitCommands(CLI::App& app);
// `data prepare CORPUS --out DIR (--vocab-size N | --model M)`, `data verify DIR`: token data
// for language models (docs/data-format.md).
void addDataCommands(CLI::App& app);
// `export CHECKPOINT --out FILE [--format pt]`: the parameters as a PyTorch state_dict.
void addExportCommand(CLI::App& app);
// `keys new|show`: this node's ed25519 signing key.
void addKeyCommands(CLI::App& app);
// volunteer: join a running job as an untrusted volunteer (docs/volunteers.md).
void addVolunteerCommand(CLI::App& app);
// `bridge key|deploy|job|commit|challenge|timeout|resolve|settle|withdraw|status|flush`: the
// protocol chain. Every sending command takes --rpc URL (send now), --outbox FILE (queue
// offline; needs --chain-id), or both (queue, then flush at once).
void addBridgeCommands(CLI::App& app);
// The protocol's long-running roles on an MlcpMarket (issue #17), one process each:
// `solver serve`: serve proven samples, reveal the seed, publish states, answer challenges,
// settle and withdraw, for one task after its run.
void addSolverCommands(CLI::App& app);
// `verifier watch`: sample, replay, commit and reveal verdicts, challenge and dispute, withdraw.
void addVerifierCommands(CLI::App& app);
// `referee watch`: recompute disputed operators and sign verdicts for a committee.
void addRefereeCommands(CLI::App& app);

// Under `verify` (main.cc creates the group):
// `verify checkpoint DIR [--signer KEY]`: signature, Merkle root and every tensor hash.
void addVerifyCheckpointCommand(CLI::App& verify);
// `verify replay RUN_DIR --from K1 --to K2`: recompute an interval on this placement, compare.
void addReplayCommand(CLI::App& verify);
// `verify dispute RUN_A RUN_B [--rpc ...]`: bisect to one operator; the referee's verdict.
void addDisputeCommand(CLI::App& verify);

}  // namespace mlcp::app
