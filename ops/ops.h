// RepOps: mlcp's reproducible operators. Include this header for all of them.
//
// THE CONTRACT
// Each output element is the result of one fixed sequence of IEEE-754 binary32 operations
// determined by the shapes alone — never by the instruction set (scalar, AVX2+FMA, AVX-512),
// the thread count, tile sizes or the alignment of the buffers. Hence the same inputs give the
// same bits on every x86-64 CPU (and any IEEE-754 machine running the scalar path).
//
//  1. Vectors run across independent outputs, never across a reduction.
//  2. Every reduction has one fixed order or tree, which the scalar and vector paths both
//     follow: a matrix product's k-sum is one fma chain in ascending k (ops/matmul.h); a row
//     sum uses 16 lanes and a fixed halving tree, in fixed blocks (ops/reduction.h); column and
//     batch sums are chains in ascending row order. Each header states its operator's order.
//  3. Fused multiply-adds appear exactly where a header writes fma(a, b, c): std::fmaf
//     (__builtin_fmaf) in scalar code, _mm256_fmadd_ps / _mm512_fmadd_ps in vector code.
//     Everywhere else a * b + c is two roundings: every ops source is compiled with
//     -ffp-contract=off and without -ffast-math (no reassociation, no reciprocal tricks).
//  4. Transcendentals (exp, log, tanh, erf) are the project's own fixed algorithms
//     (ops/math_functions.h, at most 2 ulp, measured), not libm or a vector library.
//  5. Threads split work over independent outputs only (ops/parallel.h); the thread count
//     comes from ops::setNumThreads(n), else omp_get_max_threads().
//  6. Denormals are neither flushed nor treated as zero: the library never sets FTZ/DAZ and
//     expects the default MXCSR (round to nearest even, no FTZ/DAZ) — a caller that sets them
//     changes results (identically on every path, but no longer the IEEE ones).
//  7. NaN-ness of every output is reproducible; NaN payloads (and the sign of a NaN) are not
//     specified and may differ between paths.
//
// Paths are chosen at run time (ops/isa.h: MLCP_ISA=scalar|avx2|avx512, ops::setIsa()).
// tests/ops runs every kernel on every path and thread count and compares the bits.
//
// Layer by layer (each header states its formulas and order):
//   isa.h, parallel.h           path selection, threads
//   matmul.h, linear.h, bias.h  matrix products, the linear layer, bias add / gradient
//   reduction.h                 sums, dot products, column sums
//   math_functions.h            exp, log, tanh, erf
//   elementwise.h               relu, gelu, tanh backward, scale, add, mul
//   softmax.h                   softmax, log-softmax, cross-entropy (+ backward)
//   layer_norm.h                layer norm (+ backward)
//   embedding.h                 embedding lookup (+ backward)
//   attention.h                 causal attention (+ backward)
//   conv2d.h, pooling.h         3x3 convolution, 2x2 max-pool (+ backward)
//   dropout.h                   counter-based (Philox4x32-10) dropout
//   grad_clip.h                 global-norm gradient clipping
//   optimizer_update.h          AdamW and SGD updates as LibTorch 1.13 computes them
//   torch_ops.h                 LibTorch autograd wrappers (library mlcp_ops_torch)
#pragma once

#include "ops/attention.h"
#include "ops/bias.h"
#include "ops/conv2d.h"
#include "ops/dropout.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/grad_clip.h"
#include "ops/isa.h"
#include "ops/layer_norm.h"
#include "ops/linear.h"
#include "ops/math_functions.h"
#include "ops/matmul.h"
#include "ops/optimizer_update.h"
#include "ops/parallel.h"
#include "ops/pooling.h"
#include "ops/reduction.h"
#include "ops/softmax.h"
