// What each custom error of the protocol contracts (MlcpJobs, MlcpMarket, MlcpCheckers) means,
// in words a user can act on — appended to every RevertError's message, so that a refused
// command ends in one sentence: "MlcpMarket.acceptTask reverted: PredecessorNotFinal() — the
// previous task's final root is not final yet (all its roots committed and, with forced errors,
// its seed revealed)". docs/bridge-protocol.md lists the errors; the test checks every one of the
// ABIs' errors has an explanation here.
#pragma once

#include <string>

namespace mlcp::bridge {

// The explanation of custom error `name` ("WrongIndex"), or "" for an unknown name.
std::string explainContractError(const std::string& name);

}  // namespace mlcp::bridge
