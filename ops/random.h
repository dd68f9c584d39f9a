// Reproducible random numbers for parameter initialisation: the same bits on every CPU, path
// and thread count, drawn from a counter-based stream so that a parameter's values depend only
// on its stream key (not on how many draws came before it, nor on the rank that draws it).
//
// Stream `key`, word i (i = 0, 1, 2, ...): word i % 4 of the Philox4x32-10 block (ops/dropout.h)
// with key `key` and counter (j low, j high, 1, 0), j = i / 4 — counter word 2 is 1, so these
// streams never meet a dropout mask's (whose counter word 2 is 0). A word w gives the float
// u = (w >> 8) * 2^-24 in [0, 1).
//
//   uniformFill: y_i = low + (high - low) * u_i          (float, two roundings, from word i)
//   normalFill:  Marsaglia's polar method on consecutive word pairs, in order:
//                  a = 2 u - 1, b = 2 u' - 1, s = a*a + b*b (float, no fma);
//                  rejected when s >= 1 or s == 0; otherwise
//                  f = sqrt(-2 * log(s) / s)  (ops::log, float), giving a*f then b*f;
//                y = mean + std * z (two roundings).
// The polar method needs no sine or cosine, so only ops::log is transcendental.
#pragma once

#include <cstdint>

namespace mlcp::ops {

// Word i of stream `key`.
uint32_t randomWord(uint64_t key, uint64_t i);

void uniformFill(float* y, int64_t n, uint64_t key, float low, float high);
void normalFill(float* y, int64_t n, uint64_t key, float mean, float std);

// cos(pi * t) in double for t in [0, 1] (clamped), by a fixed Taylor polynomial: the same bits on
// every machine, unlike the C library's cos (whose x86-64 versions are chosen by CPU features).
// Error below 1e-15. For schedules (the learning rate's cosine decay).
double cosPi(double t);

}  // namespace mlcp::ops
