// The AVX2+FMA path: the generic kernels with 8-wide traits. Compiled with -mavx2 -mfma (set on
// this file only, ops/CMakeLists.txt); called only when the CPU supports both.
#define MLCP_OPS_ISA avx2

#include "ops/detail/kernel_table.h"
#include "ops/detail/simd_avx2.h"
#include "ops/detail/simd_scalar.h"
#include "ops/detail/transpose_avx.h"

namespace mlcp::ops::avx2 {
using Wide = Avx2;
constexpr Isa kIsa = Isa::kAvx2;
constexpr int kGemmMr = 6, kGemmNv = 2;  // 6 x 16 micro-tile: 12 accumulators of 16 registers
constexpr int64_t kGemmKc = 256, kGemmMc = 96, kGemmNc = 128;
}  // namespace mlcp::ops::avx2

#include "ops/detail/kernels_generic.h"

namespace mlcp::ops::detail {
const KernelTable& avx2Kernels() { return avx2::kTable; }
}  // namespace mlcp::ops::detail
