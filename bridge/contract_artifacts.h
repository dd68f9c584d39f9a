// The protocol contract's compiled artifacts (bridge/contracts/build/MlcpJobs.{abi.json,bin}),
// embedded into the library at build time so that an installed `mlcp` can deploy and call the
// contract without the source tree. CMake regenerates the embedding when the files change.
#pragma once

#include "bridge/bytes.h"
#include "bridge/contract.h"

namespace mlcp::bridge {

const ContractAbi& mlcpJobsAbi();
const Bytes& mlcpJobsBytecode();
// "solc 0.8.37+commit... optimizer=200 via-ir evm=cancun": the compiler that produced them.
const char* mlcpJobsCompiler();

}  // namespace mlcp::bridge
