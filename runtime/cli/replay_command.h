// `mlcp verify replay RUN_DIR --from K1 --to K2`: recompute a run's interval from its own
// checkpoint K1 on whatever placement this command is launched with, and compare.
#pragma once

#include <CLI/CLI.hpp>

namespace mlcp::cli {

// Adds `replay` under the `verify` subcommand (created if no other part added it yet).
void addReplayCommand(CLI::App& app);

}  // namespace mlcp::cli
