#include "ops/dropout.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "base/error.h"
#include "ops/detail/kernel_table.h"
#include "ops/parallel.h"

namespace mlcp::ops {
namespace {

constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
constexpr int64_t kBlock = 4096;  // elements per unit of work (a multiple of 4)

// The keep threshold: kept iff (word >> 8) >= threshold, i.e. u >= p exactly, since
// u = (word >> 8) * 2^-24 and p * 2^24 rounds up to the first integer not below it.
uint32_t keepThreshold(float p) {
  const double t = static_cast<double>(p) * 16777216.0;
  return static_cast<uint32_t>(std::min(16777216.0, std::ceil(t)));
}

float multiplierScale(float p) { return 1.0f / static_cast<float>(1.0 - static_cast<double>(p)); }

void apply(const float* x, float* y, int64_t n, float p, uint64_t seed, uint64_t offset) {
  require(n >= 0, "ops::dropout: negative length");
  require(p >= 0.0f && p <= 1.0f, "ops::dropout: p = " + std::to_string(p) + " is not in [0, 1]");
  const uint32_t threshold = keepThreshold(p);
  const float s = multiplierScale(p);
  const auto& k = detail::activeKernels();
  parallelFor(n, kBlock, [&](int64_t i0, int64_t i1) {
    float* mask = detail::scratch(3, kBlock);
    for (int64_t b0 = i0; b0 < i1; b0 += kBlock) {
      const int64_t len = std::min(kBlock, i1 - b0);
      uint64_t index = offset + static_cast<uint64_t>(b0);
      int64_t j = 0;
      while (j < len) {
        const uint64_t block = index / 4;
        const auto r = philox4x32(
            {static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0u, 0u}, seed);
        for (uint64_t w = index % 4; w < 4 && j < len; ++w, ++j, ++index) {
          mask[j] = (r[w] >> 8) >= threshold ? s : 0.0f;
        }
      }
      k.binary(detail::Binary::kMul, x + b0, mask, y + b0, len);
    }
  });
}

}  // namespace

std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> c, uint64_t key) {
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * c[0];
    const uint64_t p1 = static_cast<uint64_t>(kMul1) * c[2];
    c = {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k0, static_cast<uint32_t>(p1),
         static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k1, static_cast<uint32_t>(p0)};
  }
  return c;
}

float dropoutMultiplier(uint64_t seed, uint64_t index, float p) {
  const uint64_t block = index / 4;
  const auto r =
      philox4x32({static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0u, 0u}, seed);
  return (r[index % 4] >> 8) >= keepThreshold(p) ? multiplierScale(p) : 0.0f;
}

void dropout(const float* x, float* y, int64_t n, float p, uint64_t seed, uint64_t offset) {
  apply(x, y, n, p, seed, offset);
}

void dropoutBackward(const float* dy, float* dx, int64_t n, float p, uint64_t seed,
                     uint64_t offset) {
  apply(dy, dx, n, p, seed, offset);
}

}  // namespace mlcp::ops
