// `mlcp verify dispute RUN_A RUN_B`: bisection between two runs of the same job down to one
// operator of one step, and the referee's verdict (runtime/dispute.h).
#pragma once

#include <CLI/CLI.hpp>

namespace mlcp::cli {

// Adds `dispute` under the `verify` subcommand (created by verify::addCommands).
void addDisputeCommand(CLI::App& app);

}  // namespace mlcp::cli
