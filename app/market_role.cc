#include "app/market_role.h"

#include <fmt/format.h>

#include <cstdio>

namespace mlcp::app {

void addMarketRoleOptions(CLI::App& cmd, MarketRoleOptions& o, const std::string& key_help) {
  cmd.add_option("--rpc", o.rpc, "Chain node JSON-RPC URL")->envname("MLCP_RPC_URL")->required();
  cmd.add_option("--key", o.key, key_help)->envname("MLCP_CHAIN_KEY")->required();
  cmd.add_option("--market", o.market, "MlcpMarket contract address")->required();
  cmd.add_option("--exchange", o.exchange,
                 "The folder the task's parties exchange states and signatures through")
      ->required();
  cmd.add_option("--poll", o.poll_s, "Seconds between looks at the chain")->capture_default_str();
}

void sayAs(const char* role, const std::string& line) {
  fmt::print("{}: {}\n", role, line);
  std::fflush(stdout);
}

}  // namespace mlcp::app
