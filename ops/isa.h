// Which instruction-set path the reproducible operators run on.
//
// Every kernel in ops/ has a portable scalar path, an AVX2+FMA path and an AVX-512 path, each in
// its own translation unit compiled with its own target flags (ops/CMakeLists.txt), so the rest
// of the project needs no special flags. All three give bitwise identical results (ops/ops.h
// states the contract); the choice changes speed only.
//
// Selection, in order:
//   1. setIsa(isa), for tests and benchmarks;
//   2. the environment variable MLCP_ISA=scalar|avx2|avx512, read once, on first use;
//   3. the best path the CPU supports (__builtin_cpu_supports).
// Asking for a path this CPU lacks is a UsageError naming the request and what the CPU supports,
// never an illegal-instruction crash.
//
// Threading: activeIsa() and setIsa() may be called from any thread; setIsa() must not race with
// kernels that are running (a test or benchmark switches paths between calls).
#pragma once

#include <string>

namespace mlcp::ops {

enum class Isa { kScalar, kAvx2, kAvx512 };

// "scalar", "avx2", "avx512".
const char* isaName(Isa isa);

// The path named `name` ("scalar", "avx2", "avx512"); UsageError naming `origin` (e.g.
// "MLCP_ISA") and the accepted values otherwise.
Isa parseIsa(const std::string& name, const std::string& origin);

// True when this CPU (and operating system) can run `isa`'s path. AVX2 needs AVX2 and FMA;
// AVX-512 needs AVX-512 F, DQ, BW and VL.
bool cpuSupports(Isa isa);

// The paths this CPU supports, best last: e.g. "scalar, avx2, avx512".
std::string supportedIsas();

// The fastest path this CPU supports.
Isa bestIsa();

// The path kernels run on now (see the selection order above). Throws UsageError when MLCP_ISA
// names an unknown path or one this CPU lacks.
Isa activeIsa();

// Forces `isa` for every later kernel call; UsageError when the CPU lacks it.
void setIsa(Isa isa);

// Back to the default: MLCP_ISA if set, else bestIsa().
void resetIsa();

}  // namespace mlcp::ops
