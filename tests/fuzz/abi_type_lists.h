// The parameter lists fuzz_abi decodes, one per value of its input's first byte; make_corpus
// writes one seed per list, so the two agree on the indices by sharing this table.
#pragma once

#include <cstddef>

namespace mlcp::fuzz {

// Signatures "f(types)": static, dynamic and nested types, and the return values of the
// contracts' getters.
inline constexpr const char* kAbiTypeLists[] = {
    "f(uint256)",
    "f(uint8)",
    "f(uint128)",
    "f(int256)",
    "f(int8)",
    "f(int64)",
    "f(bool)",
    "f(address)",
    "f(bytes32)",
    "f(bytes1)",
    "f(bytes7)",
    "f(bytes)",
    "f(string)",
    "f(uint256[])",
    "f(bytes32[])",
    "f(uint8[])",
    "f(string[])",
    "f(bytes[])",
    "f(uint256[3])",
    "f(bytes[2])",
    "f(uint256[][])",
    "f(string[][2])",
    "f(int256[3][])",
    "f(address[2][2])",
    "f((uint64,bytes32))",
    "f((uint64,bytes32)[2])",
    "f((uint256,string)[])",
    "f((bytes,(uint8,string[])[]))",
    "f(uint256,uint256,bytes32,uint8,bytes32,bytes32)",
    "f(uint256,uint256,bytes32[],uint8[],bytes32[],bytes32[])",
    "f(uint256,bool,uint8[],bytes32[],bytes32[])",
    // MlcpJobs.jobs(uint256) and disputes(uint256) return values.
    "f(address,uint8,uint32,uint32,address,uint32,uint32,uint32,address,uint32,uint32,uint32,"
    "uint128,uint128,uint128,bytes32,bytes32)",
    "f(address,uint8,bool,uint32,uint32,uint32,uint32,uint32,uint32,uint32,bytes32,bytes32,"
    "bytes32,bytes32)",
    "f(string,uint256[],(bool,bytes)[],int16)",
};
inline constexpr size_t kLists = sizeof(kAbiTypeLists) / sizeof(kAbiTypeLists[0]);

}  // namespace mlcp::fuzz
