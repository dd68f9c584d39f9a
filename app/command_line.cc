#include "app/command_line.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "app/commands.h"
#include "base/error.h"
#include "mlcp/config.h"

namespace mlcp::app {

int runCommandLine(int argc, char** argv) {
  CLI::App app{"mlcp: verifiable, placement-independent distributed training"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("mlcp ") + MLCP_VERSION);

  // Every subcommand, in one list (app/commands.h says what each adds).
  addRunCommands(app);       // run, validate, info
  addPlotCommand(app);       // plot
  addPlanCommand(app);       // plan
  addDataCommands(app);      // data prepare|verify
  addSubmitCommands(app);    // submit, status, logs (Slurm)
  addExportCommand(app);     // export
  addKeyCommands(app);       // keys new|show
  addVolunteerCommand(app);  // volunteer
  addBridgeCommands(app);    // bridge ...
  addSolverCommands(app);    // solver serve
  addVerifierCommands(app);  // verifier watch
  addRefereeCommands(app);   // referee watch
  CLI::App* verify = app.add_subcommand("verify", "Verify checkpoints, replay runs, play disputes");
  verify->require_subcommand(1);
  addVerifyCheckpointCommand(*verify);  // verify checkpoint
  addReplayCommand(*verify);            // verify replay
  addDisputeCommand(*verify);           // verify dispute

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
    return kExitUsage;
  } catch (const Stopped&) {
    return kExitStopped;
  } catch (const Error& e) {
    std::fprintf(stderr, "mlcp: error: %s\n", e.what());
    return exitCodeFor(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlcp: internal error: %s\n", e.what());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace mlcp::app
