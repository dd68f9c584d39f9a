// mlcp's whole command line as a library function, so a program can add its own models
// (models/model_registry.h) and still be `mlcp`:
//
//   int main(int argc, char** argv) {
//     mlcp::models::registerModel(myModel());
//     return mlcp::app::runCommandLine(argc, argv);
//   }
//
// The `mlcp` binary is exactly this without a registration (app/main.cc).
#pragma once

namespace mlcp::app {

// Parses argv, runs the subcommand and maps exceptions to exit codes: 0 success, 1 runtime
// failure, 2 a user's mistake (bad job file, path, flag) — one sentence on stderr, never a
// stack trace — and 3 stopped on a signal after a checkpoint.
int runCommandLine(int argc, char** argv);

}  // namespace mlcp::app
