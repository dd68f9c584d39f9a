// The training commands of `mlcp`: run, validate, info, plot.
#pragma once

#include <CLI/CLI.hpp>

namespace mlcp::cli {

void addRunCommands(CLI::App& app);

}  // namespace mlcp::cli
