// The market's commit–reveal randomness, computed off chain exactly as MlcpMarket and
// MlcpCheckers compute it (docs/bridge-protocol.md, "Randomness: what was chosen"), so that a
// solver knows its forced checkpoint and a verifier its sample without asking the chain — and
// can prove them later by revealing its secret. Every formula here is also a view of the
// contracts (forcedCheckpointOf, forcedRoot, sampleOf); the tests compare them.
//
//   seedCommitment   = keccak256(abi.encode(SEED_TAG, taskId, solver, seed))
//   anchor           = blockhash(acceptBlock + 1)                           (anchorSeed)
//   F                = uint256(keccak256(abi.encode(seed, anchor)))
//   forced           = F mod 10000 < rateBps;  j = 1 + (F / 10000) mod N     (0: none)
//   forcedRoot       = keccak256(abi.encode(FORCED_TAG, chainId, market, taskId, j, trueRoot,
//   seed)) sampleCommitment = keccak256(abi.encode(SAMPLE_TAG, taskId, verifier, secret))
//   sampleSeed       = keccak256(abi.encode(secret, blockhash(registeredBlock + 1)))
//   sample           = sampleOf(sampleSeed, N, m): k_t = 1 + uint(keccak256(abi.encode(sampleSeed,
//                      t))) mod N, t = 0, 1, ..., kept unless drawn before, until m are kept
//   verdictsCommitment = keccak256(abi.encode(VERDICTS_TAG, flags, secret))
#pragma once

#include <cstdint>
#include <vector>

#include "bridge/bytes.h"
#include "bridge/u256.h"

namespace mlcp::bridge {

Hash32 seedTag();      // keccak256("mlcp.seed.v1")
Hash32 forcedTag();    // keccak256("mlcp.forced.v1")
Hash32 sampleTag();    // keccak256("mlcp.sample.v1")
Hash32 verdictsTag();  // keccak256("mlcp.verdicts.v1")

// 32 bytes from the operating system's random source (getrandom): a seed or a sample secret.
Hash32 randomSecret();

Hash32 seedCommitment(const U256& task_id, const Address& solver, const Hash32& seed);
// The checkpoint (1..n) a seed forces, 0 for none.
uint64_t forcedCheckpointOf(const Hash32& seed, const Hash32& anchor, uint64_t rate_bps,
                            uint64_t n);
Hash32 forcedRoot(uint64_t chain_id, const Address& market, const U256& task_id, uint64_t k,
                  const Hash32& true_root, const Hash32& seed);

Hash32 sampleCommitment(const U256& task_id, const Address& verifier, const Hash32& secret);
Hash32 sampleSeed(const Hash32& secret, const Hash32& anchor);
// m distinct checkpoints of 1..n in draw order (bit i of a verifier's flags is the i-th).
// Throws InvalidArgument when m > n or n = 0.
std::vector<uint64_t> sampleOf(const Hash32& sample_seed, uint64_t n, uint64_t m);
Hash32 verdictsCommitment(uint8_t flags, const Hash32& secret);

// The probability that at least one of `verifiers` verifiers, each replaying a uniformly drawn
// set of m of the n checkpoint intervals (what sampleOf draws), replays one of the k intervals
// a solver corrupted: 1 - (C(n-k, m) / C(n, m))^verifiers. 0 when k = 0, 1 when k > n - m.
double catchProbability(uint64_t n, uint64_t k, uint64_t m, uint64_t verifiers);

}  // namespace mlcp::bridge
