// Intra-op threads for the reproducible operators.
//
// Contract: threads split work over independent outputs only (rows, column blocks, output
// tiles, fixed element blocks). Every output is computed start to finish by one thread, in the
// fixed order ops/ops.h states, so the thread count never changes a bit — only the speed.
//
// The thread count of a kernel call: setNumThreads(n) when n > 0 was set, else
// omp_get_max_threads() at the call (which torch::set_num_threads also sets). Small inputs run
// on one thread (the grain of each call), which again changes nothing but the speed.
#pragma once

#include <cstdint>
#include <functional>

namespace mlcp::ops {

// The thread count kernels use now (>= 1).
int numThreads();

// n > 0: use n threads in every later kernel call; n == 0: follow omp_get_max_threads().
void setNumThreads(int n);

// Calls fn(begin, end) over [0, n) split into blocks of at least `grain` items (the last may be
// shorter), whole blocks shared as evenly as possible over min(numThreads(), blocks) OpenMP
// threads; one thread calls fn(0, n) directly. fn must not throw; it runs concurrently for
// disjoint ranges.
void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace mlcp::ops
