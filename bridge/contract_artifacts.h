// The protocol contracts' compiled artifacts (bridge/contracts/build/<Name>.{abi.json,bin}),
// embedded into the library at build time so that an installed `mlcp` can deploy and call the
// contracts without the source tree. CMake regenerates the embedding when the files change.
//   MlcpJobs      the game alone (one solver, one referee per job): ABI and bytecode
//   MlcpMarket    the game + the protocol's economics (issue #17): ABI and bytecode; its
//                 constructor creates its MlcpCheckers
//   MlcpCheckers  the verifiers' side of a market: ABI only (deployed by MlcpMarket)
#pragma once

#include "bridge/bytes.h"
#include "bridge/contract.h"

namespace mlcp::bridge {

const ContractAbi& mlcpJobsAbi();
const Bytes& mlcpJobsBytecode();
const ContractAbi& mlcpMarketAbi();
const Bytes& mlcpMarketBytecode();
const ContractAbi& mlcpCheckersAbi();
// "solc 0.8.37+commit... optimizer=200 via-ir evm=cancun": the compiler that produced them.
const char* mlcpJobsCompiler();

}  // namespace mlcp::bridge
