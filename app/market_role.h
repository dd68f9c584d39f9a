// What the protocol's long-running market roles (`solver serve`, `verifier watch`, `referee
// watch`) share on the command line: the chain node, the role's chain key, the market, the
// folder the task's parties exchange states through and how often to look at the chain.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace mlcp::app {

struct MarketRoleOptions {
  std::string rpc, key, market, exchange;
  double poll_s = 0.5;
};

// Adds --rpc (or MLCP_RPC_URL), --key (or MLCP_CHAIN_KEY, described by `key_help`), --market,
// --exchange and --poll to `cmd`, writing into `o` (which must outlive the parse).
void addMarketRoleOptions(CLI::App& cmd, MarketRoleOptions& o, const std::string& key_help);

// One progress line, "ROLE: LINE", flushed at once (the roles run for hours under a log file).
void sayAs(const char* role, const std::string& line);

}  // namespace mlcp::app
