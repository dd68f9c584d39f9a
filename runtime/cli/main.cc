// `mlcp` — the one binary. Each subsystem contributes its subcommands through an
// add*Commands(CLI::App&) function; this file only assembles them and maps errors to exit codes:
// 0 success, 1 runtime failure, 2 a user's mistake (bad job file, path, flag) — one sentence on
// stderr, never a stack trace.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "runtime/cli/dispute_command.h"
#include "runtime/cli/plan_command.h"
#include "runtime/cli/replay_command.h"
#include "runtime/cli/run_commands.h"
#include "runtime/cli/submit_command.h"
#include "mlcp/config.h"
#include "runtime/error.h"
// subsystem command sets (one include each)
// @@includes
#include "bridge/bridge_commands.h"
#include "verify/verify_commands.h"

int main(int argc, char** argv) {
  CLI::App app{"mlcp: verifiable, placement-independent distributed training"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("mlcp ") + MLCP_VERSION);

  mlcp::cli::addRunCommands(app);  // run, validate, info, plot
  mlcp::cli::addPlanCommand(app);  // plan
  mlcp::cli::addSubmitCommands(app);  // submit, status, logs (Slurm)
  // @@commands
  mlcp::bridge::addCommands(app);  // bridge key|deploy|job|commit|challenge|settle|withdraw|status|flush
  mlcp::verify::addCommands(app);  // keys new|show, verify checkpoint
  // Last: adds `replay` under the `verify` subcommand the verify subsystem created above.
  mlcp::cli::addReplayCommand(app);
  mlcp::cli::addDisputeCommand(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return mlcp::kExitUsage;
  } catch (const mlcp::Stopped&) {
    return mlcp::kExitStopped;
  } catch (const mlcp::Error& e) {
    std::fprintf(stderr, "mlcp: error: %s\n", e.what());
    return mlcp::exitCodeFor(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlcp: internal error: %s\n", e.what());
    return mlcp::kExitFailure;
  }
  return mlcp::kExitOk;
}
