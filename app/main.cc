// `mlcp` — the one binary. Every subcommand is registered in the one list below (the work lives
// in the library folders; app/commands.h says what each adds). Exceptions map to exit codes:
// 0 success, 1 runtime failure, 2 a user's mistake (bad job file, path, flag) — one sentence on
// stderr, never a stack trace — and 3 stopped on a signal after a checkpoint.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "app/commands.h"
#include "base/error.h"
#include "mlcp/config.h"

int main(int argc, char** argv) {
  CLI::App app{"mlcp: verifiable, placement-independent distributed training"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("mlcp ") + MLCP_VERSION);

  mlcp::app::addRunCommands(app);       // run, validate, info
  mlcp::app::addPlotCommand(app);       // plot
  mlcp::app::addPlanCommand(app);       // plan
  mlcp::app::addDataCommands(app);      // data prepare|verify
  mlcp::app::addSubmitCommands(app);    // submit, status, logs (Slurm)
  mlcp::app::addExportCommand(app);     // export
  mlcp::app::addKeyCommands(app);       // keys new|show
  mlcp::app::addVolunteerCommand(app);  // volunteer
  mlcp::app::addBridgeCommands(app);    // bridge ...
  mlcp::app::addSolverCommands(app);    // solver serve
  mlcp::app::addVerifierCommands(app);  // verifier watch
  mlcp::app::addRefereeCommands(app);   // referee watch
  CLI::App* verify = app.add_subcommand("verify", "Verify checkpoints, replay runs, play disputes");
  verify->require_subcommand(1);
  mlcp::app::addVerifyCheckpointCommand(*verify);  // verify checkpoint
  mlcp::app::addReplayCommand(*verify);            // verify replay
  mlcp::app::addDisputeCommand(*verify);           // verify dispute

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
