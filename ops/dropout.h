// Dropout with a counter-based generator: the mask of element i is a pure function of
// (seed, offset + i), so it is the same on every path, thread count and partition of the work.
//
// Generator: Philox4x32-10 (Salmon et al., SC'11) with key (seed low 32 bits, seed high 32
// bits) and counter (j low, j high, 0, 0) for j = (offset + i) / 4; element i takes word
// (offset + i) % 4 of the output, u = (word >> 8) * 2^-24 in [0, 1).
// Element i is kept when u >= p (dropped with probability p), and
//   y_i = x_i * (kept ? s : 0),   s = 1.0f / float(1 - p)
// as LibTorch computes it (input * mask / (1 - p), so 0 * inf = NaN as there). The backward is
// the same product with dy. The random bits differ from LibTorch's generator.
#pragma once

#include <array>
#include <cstdint>

namespace mlcp::ops {

// One Philox4x32-10 block.
std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> counter, uint64_t key);

// The multiplier of element `index`: s or 0 (as above).
float dropoutMultiplier(uint64_t seed, uint64_t index, float p);

// y[i] = x[i] * multiplier(seed, offset + i), i < n; p in [0, 1] (else InvalidArgument).
// x and y may be the same array. dropoutBackward is the same operation on dy.
void dropout(const float* x, float* y, int64_t n, float p, uint64_t seed, uint64_t offset = 0);
void dropoutBackward(const float* dy, float* dx, int64_t n, float p, uint64_t seed,
                     uint64_t offset = 0);

}  // namespace mlcp::ops
