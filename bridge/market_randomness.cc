#include "bridge/market_randomness.h"

#include <fmt/format.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "bridge/abi.h"
#include "bridge/keccak.h"

namespace mlcp::bridge {
namespace {

using abi::Type;
using abi::Value;

Hash32 hashWords(const std::vector<const char*>& types, const std::vector<Value>& values) {
  std::vector<Type> ts;
  for (const char* t : types) ts.push_back(Type::parse(t));
  return keccak256(abi::encode(ts, values));
}

U256 wordOf(const Hash32& h) { return U256::fromBigEndian(h.data(), h.size()); }

// x mod d for a 256-bit x and a 64-bit d (d > 0).
uint64_t modSmall(const U256& x, uint64_t d) {
  uint64_t rem = 0;
  x.divSmall(d, &rem);
  return rem;
}

}  // namespace

Hash32 seedTag() { return keccak256("mlcp.seed.v1"); }
Hash32 forcedTag() { return keccak256("mlcp.forced.v1"); }
Hash32 sampleTag() { return keccak256("mlcp.sample.v1"); }
Hash32 verdictsTag() { return keccak256("mlcp.verdicts.v1"); }

Hash32 randomSecret() {
  Hash32 s{};
  if (getrandom(s.data(), s.size(), 0) != static_cast<ssize_t>(s.size())) {
    throw IoError(fmt::format("getrandom failed: {}", std::strerror(errno)));
  }
  return s;
}

Hash32 seedCommitment(const U256& task_id, const Address& solver, const Hash32& seed) {
  return hashWords({"bytes32", "uint256", "address", "bytes32"},
                   {Value::fixedBytes(seedTag()), Value::uint(task_id), Value::address(solver),
                    Value::fixedBytes(seed)});
}

uint64_t forcedCheckpointOf(const Hash32& seed, const Hash32& anchor, uint64_t rate_bps,
                            uint64_t n) {
  require(n > 0, "forcedCheckpointOf needs n > 0");
  const U256 f = wordOf(
      hashWords({"bytes32", "bytes32"}, {Value::fixedBytes(seed), Value::fixedBytes(anchor)}));
  uint64_t rem = 0;
  const U256 quotient = f.divSmall(10000, &rem);
  return rem < rate_bps ? 1 + modSmall(quotient, n) : 0;
}

Hash32 forcedRoot(uint64_t chain_id, const Address& market, const U256& task_id, uint64_t k,
                  const Hash32& true_root, const Hash32& seed) {
  return hashWords({"bytes32", "uint256", "address", "uint256", "uint256", "bytes32", "bytes32"},
                   {Value::fixedBytes(forcedTag()), Value::uint(U256(chain_id)),
                    Value::address(market), Value::uint(task_id), Value::uint(U256(k)),
                    Value::fixedBytes(true_root), Value::fixedBytes(seed)});
}

Hash32 sampleCommitment(const U256& task_id, const Address& verifier, const Hash32& secret) {
  return hashWords({"bytes32", "uint256", "address", "bytes32"},
                   {Value::fixedBytes(sampleTag()), Value::uint(task_id), Value::address(verifier),
                    Value::fixedBytes(secret)});
}

Hash32 sampleSeed(const Hash32& secret, const Hash32& anchor) {
  return hashWords({"bytes32", "bytes32"}, {Value::fixedBytes(secret), Value::fixedBytes(anchor)});
}

std::vector<uint64_t> sampleOf(const Hash32& sample_seed, uint64_t n, uint64_t m) {
  require(n > 0 && m <= n, fmt::format("sampleOf needs 0 < m <= n (m {}, n {})", m, n));
  std::vector<uint64_t> out;
  for (uint64_t t = 0; out.size() < m; ++t) {
    const uint64_t k =
        1 + modSmall(wordOf(hashWords({"bytes32", "uint256"},
                                      {Value::fixedBytes(sample_seed), Value::uint(U256(t))})),
                     n);
    if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
  }
  return out;
}

Hash32 verdictsCommitment(uint8_t flags, const Hash32& secret) {
  return hashWords(
      {"bytes32", "uint8", "bytes32"},
      {Value::fixedBytes(verdictsTag()), Value::uint(U256(flags)), Value::fixedBytes(secret)});
}

double catchProbability(uint64_t n, uint64_t k, uint64_t m, uint64_t verifiers) {
  require(n > 0 && k <= n && m <= n, "catchProbability needs k <= n and m <= n");
  if (k == 0 || verifiers == 0) return 0.0;
  // C(n-k, m) / C(n, m) = prod_{i=0}^{m-1} (n-k-i) / (n-i): one verifier misses every bad one.
  double miss = 1.0;
  for (uint64_t i = 0; i < m; ++i) {
    if (n - i <= k) return 1.0;  // fewer good intervals than samples: a bad one is drawn
    miss *= static_cast<double>(n - k - i) / static_cast<double>(n - i);
  }
  return 1.0 - std::pow(miss, static_cast<double>(verifiers));
}

}  // namespace mlcp::bridge
