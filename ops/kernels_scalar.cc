// The portable scalar path: the generic kernels with width-1 traits, compiled for the baseline
// CPU (x86-64 SSE2, no FMA instructions: __builtin_fmaf calls the C library's correctly rounded
// fmaf). The reference the vector paths must match bit for bit.
#define MLCP_OPS_ISA scalar

#include "ops/detail/kernel_table.h"
#include "ops/detail/simd_scalar.h"

namespace mlcp::ops::scalar {
using Wide = Scalar;
constexpr Isa kIsa = Isa::kScalar;
constexpr bool kHasTranspose8x8 = false;  // packing uses plain loops
inline void transpose8x8(const float*, int64_t, float*, int64_t) {}
constexpr int kGemmMr = 4, kGemmNv = 4;  // 4 x 4 micro-tile
constexpr int64_t kGemmKc = 256, kGemmMc = 64, kGemmNc = 64;
}  // namespace mlcp::ops::scalar

#include "ops/detail/kernels_generic.h"

namespace mlcp::ops::detail {
const KernelTable& scalarKernels() { return scalar::kTable; }
}  // namespace mlcp::ops::detail
