// `mlcp bridge ...`: the protocol chain from the command line.
//   key new|show        a secp256k1 chain key file (0600)
//   deploy              deploy MlcpJobs (the build embedded in mlcp)
//   job create|accept   escrow a job / accept it with the stake
//   job cancel          take back a job no solver accepted
//   commit              sign and publish one checkpoint commitment (as the runtime does)
//   challenge           challenge checkpoint k with the bond
//   timeout | resolve   end an overdue move or deadline / post the referee's verdict
//   settle | withdraw   pay out after the window / pull what the contract owes you
//   status              node, account, job (and its dispute) and outbox state
//   flush               send an outbox's queued transactions, exactly once
// Every sending command takes --rpc URL (send now), --outbox FILE (queue offline; needs
// --chain-id), or both (queue, then flush at once). Exit codes: 0 ok, 1 chain/runtime failure
// (an unreachable node names its URL), 2 a user's mistake (bad key file, malformed address).
#pragma once

#include <CLI/CLI.hpp>

namespace mlcp::bridge {

void addCommands(CLI::App& app);

}  // namespace mlcp::bridge
