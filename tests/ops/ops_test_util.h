// Helpers shared by the ops tests: run a computation on every instruction-set path and thread
// count and compare the bits, and make inputs with the awkward values (±0, subnormals, huge
// exponents, infinities, NaN).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ops/isa.h"
#include "ops/parallel.h"

namespace mlcp::ops::test {

inline uint32_t bitsOf(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof(u));
  return u;
}

// The contract's equality: the same bits, or both NaN (payloads are not specified).
inline bool sameBits(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || bitsOf(a) == bitsOf(b);
}

inline std::string hexFloat(float x) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%a (0x%08x)", static_cast<double>(x), bitsOf(x));
  return buf;
}

// Index of the first element where a and b differ (per sameBits), or -1.
inline int64_t firstDifference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!sameBits(a[i], b[i])) return static_cast<int64_t>(i);
  }
  return -1;
}

// The paths this CPU supports.
inline std::vector<Isa> supportedPaths() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (cpuSupports(isa)) out.push_back(isa);
  }
  return out;
}

// Restores the default path and thread count when a test ends.
struct PathGuard {
  ~PathGuard() {
    resetIsa();
    setNumThreads(0);
  }
};

// Runs `fn` on every supported path with 1, 2 and 3 threads and expects every result to have the
// bits of the scalar path on one thread. `fn` computes from scratch and returns its outputs
// (concatenated when there are several).
inline void expectSameBitsOnEveryPath(const std::string& what,
                                      const std::function<std::vector<float>()>& fn) {
  PathGuard guard;
  setIsa(Isa::kScalar);
  setNumThreads(1);
  const std::vector<float> reference = fn();
  for (Isa isa : supportedPaths()) {
    for (int threads : {1, 2, 3}) {
      if (isa == Isa::kScalar && threads == 1) continue;
      setIsa(isa);
      setNumThreads(threads);
      const std::vector<float> got = fn();
      ASSERT_EQ(got.size(), reference.size()) << what;
      const int64_t at = firstDifference(reference, got);
      ASSERT_EQ(at, -1) << what << ": path " << isaName(isa) << " with " << threads
                        << " threads differs from scalar/1 thread at output " << at << ": expected "
                        << hexFloat(reference[static_cast<size_t>(at)]) << ", got "
                        << hexFloat(got[static_cast<size_t>(at)]);
    }
  }
}

// Inputs: normal values of magnitude ~scale; with `specials`, about one in seven is replaced by
// ±0, a subnormal, a huge or tiny exponent, ±inf or NaN.
inline std::vector<float> randomFloats(size_t n, uint64_t seed, float scale = 1.0f,
                                       bool specials = false) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::uniform_int_distribution<int> pick(0, 79);
  const float kSpecial[] = {0.0f,   -0.0f,  1e-40f,   -3e-42f,   1.4e-45f, 1e30f,
                            -3e38f, 1e-30f, INFINITY, -INFINITY, NAN};
  std::vector<float> v(n);
  for (auto& x : v) {
    const int p = pick(gen);
    x = (specials && p < 11) ? kSpecial[p] : normal(gen);
  }
  return v;
}

}  // namespace mlcp::ops::test
