// The AVX-512 path: the generic kernels with 16-wide traits. Compiled with -mavx512f -mavx512dq
// -mavx512bw -mavx512vl -mfma (set on this file only, ops/CMakeLists.txt); called only when the
// CPU supports them.
#define MLCP_OPS_ISA avx512

#include "ops/detail/kernel_table.h"
#include "ops/detail/simd_avx512.h"
#include "ops/detail/simd_scalar.h"
#include "ops/detail/transpose_avx.h"

namespace mlcp::ops::avx512 {
using Wide = Avx512;
constexpr Isa kIsa = Isa::kAvx512;
constexpr int kGemmMr = 8, kGemmNv = 2;  // 8 x 32 micro-tile: 16 accumulators of 32 registers
constexpr int64_t kGemmKc = 256, kGemmMc = 64, kGemmNc = 128;
}  // namespace mlcp::ops::avx512

#include "ops/detail/kernels_generic.h"

namespace mlcp::ops::detail {
const KernelTable& avx512Kernels() { return avx512::kTable; }
}  // namespace mlcp::ops::detail
