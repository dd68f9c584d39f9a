// The per-ISA kernel table: one instance per instruction-set path (ops/kernels_scalar.cc,
// kernels_avx2.cc, kernels_avx512.cc), all built from the same templates in kernels_generic.h,
// so the three paths run the same sequence of float operations on every output.
//
// Internal to ops/: the public headers validate arguments, split work over threads
// (ops/parallel.h) and call these serial kernels; only gemm threads itself (its packed
// operands are shared by the threads).
#pragma once

#include <cstddef>
#include <cstdint>

#include "ops/isa.h"

namespace mlcp::ops::detail {

enum class Unary { kExp, kLog, kTanh, kErf, kRelu, kGelu };

// y = f(a, b) element by element.
enum class Binary {
  kAdd,           // a + b
  kMul,           // a * b
  kReluBackward,  // a = relu output, b = dy: (a <= 0) ? 0 : b
  kGeluBackward,  // a = x, b = dy
  kTanhBackward,  // a = tanh output, b = dy: b * (1 - a * a)
};

// Initial value of each output's accumulator (ops/matmul.h: GemmInit).
enum class GemmInitKind { kZero, kAccumulate, kRowBias, kColumnBias };

struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t batch = 1, m = 0, n = 0, k = 0;
  const float* a = nullptr;
  int64_t lda = 0, stride_a = 0;
  const float* b = nullptr;
  int64_t ldb = 0, stride_b = 0;
  float* c = nullptr;
  int64_t ldc = 0, stride_c = 0;
  GemmInitKind init = GemmInitKind::kZero;
  const float* bias = nullptr;  // m (row bias) or n (column bias) values, shared by the batch
  int threads = 1;
};

// AdamW coefficients, already rounded to float the way LibTorch 1.13 rounds its double scalars
// (ops/optimizer_update.cc computes them).
struct AdamWCoefficients {
  bool decay = false;
  float decay_factor = 1;  // 1 - lr * weight_decay
  float beta1 = 0, one_minus_beta1 = 0, beta2 = 0, one_minus_beta2 = 0;
  float sqrt_bias_correction2 = 1, eps = 0, neg_step_size = 0;
};

struct SgdCoefficients {
  bool decay = false, use_momentum = false, nesterov = false, first_step = false;
  float weight_decay = 0, momentum = 0, one_minus_dampening = 1, neg_lr = 0;
};

struct KernelTable {
  Isa isa;
  // The whole (batched) product, threaded over output tiles or batch items.
  void (*gemm)(const GemmArgs& args);
  void (*unary)(Unary op, const float* x, float* y, int64_t n);
  void (*binary)(Binary op, const float* a, const float* b, float* y, int64_t n);
  // y = x * s.
  void (*scale)(const float* x, float s, float* y, int64_t n);
  // The reductions of ops/reduction.h over one block (no threads).
  float (*sum)(const float* x, int64_t n);
  float (*dot)(const float* x, const float* y, int64_t n);
  // out[j] = sum over i ascending of x[i * ld + j] (add) or x[i*ld+j] * y[i*ld+j] (fma chain),
  // j in [0, cols).
  void (*columnSums)(const float* x, int64_t rows, int64_t cols, int64_t ld, float* out);
  void (*columnDots)(const float* x, const float* y, int64_t rows, int64_t cols, int64_t ld,
                     float* out);
  // Row-wise kernels over `rows` rows of `cols` contiguous floats.
  void (*softmax)(const float* x, float* y, int64_t rows, int64_t cols, bool log);
  void (*softmaxBackward)(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols,
                          bool log);
  // loss[i] = logsumexp(x_i) - x_i[t_i] in the order ops/softmax.h states.
  void (*crossEntropy)(const float* x, const int64_t* targets, float* loss, int64_t rows,
                       int64_t cols);
  void (*crossEntropyBackward)(const float* x, const int64_t* targets, float scale, float* dx,
                               int64_t rows, int64_t cols);
  void (*layerNorm)(const float* x, const float* w, const float* b, float eps, float* y,
                    float* mean, float* rstd, int64_t rows, int64_t cols);
  void (*layerNormBackward)(const float* x, const float* w, const float* mean, const float* rstd,
                            const float* dy, float* dx, int64_t rows, int64_t cols);
  // dw[j], db[j] for j in [0, cols) of rows with leading dimension ld (either may be null).
  void (*layerNormParamGrads)(const float* x, const float* mean, const float* rstd, const float* dy,
                              float* dw, float* db, int64_t rows, int64_t cols, int64_t ld);
  void (*adamw)(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
                const AdamWCoefficients& c);
  void (*sgd)(float* param, const float* grad, float* momentum_buffer, int64_t n,
              const SgdCoefficients& c);
};

const KernelTable& scalarKernels();
const KernelTable& avx2Kernels();
const KernelTable& avx512Kernels();

// A per-thread scratch buffer of at least `floats` floats, 64-byte aligned, owned by the
// calling thread and reused by its later calls with the same slot. Defined in ops/parallel.cc,
// compiled for the baseline CPU (the per-ISA files use no standard-library code that the linker
// could share between files compiled for different CPUs). Slots: 0 and 1 gemm's packed
// operands, 2 the row kernels, 3 the public operators' own buffers.
constexpr int kScratchSlots = 4;
float* scratch(int slot, size_t floats);

// The table of activeIsa().
const KernelTable& activeKernels();

// The table of `isa` (which the CPU must support).
const KernelTable& kernelsFor(Isa isa);

}  // namespace mlcp::ops::detail
