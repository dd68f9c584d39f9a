// `mlcp keys new|show` and `mlcp verify checkpoint`.
#pragma once

#include <CLI/CLI.hpp>

namespace mlcp::verify {

// Adds the `keys` and `verify` subcommands to `app`. Other verify commands (replay, dispute)
// can be added to app.get_subcommand("verify").
void addCommands(CLI::App& app);

}  // namespace mlcp::verify
