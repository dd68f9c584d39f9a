#include "ops/parallel.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>

#include "ops/detail/kernel_table.h"

namespace mlcp::ops {
namespace {

std::atomic<int> g_threads{0};

// One thread's scratch buffers; freed when the thread exits.
struct ScratchSet {
  float* data[detail::kScratchSlots] = {};
  size_t size[detail::kScratchSlots] = {};
  ~ScratchSet() {
    for (float* p : data) std::free(p);
  }
};

}  // namespace

int numThreads() {
  const int n = g_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : std::max(1, omp_get_max_threads());
}

void setNumThreads(int n) { g_threads.store(std::max(0, n), std::memory_order_relaxed); }

void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t blocks = (n + grain - 1) / grain;
  const int threads = static_cast<int>(std::min<int64_t>(numThreads(), blocks));
  if (threads <= 1) {
    fn(0, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t b0 = blocks * t / nt, b1 = blocks * (t + 1) / nt;
    const int64_t begin = b0 * grain, end = std::min(n, b1 * grain);
    if (begin < end) fn(begin, end);
  }
}

namespace detail {

float* scratch(int slot, size_t floats) {
  thread_local ScratchSet set;
  if (set.size[slot] < floats) {
    std::free(set.data[slot]);
    // A little slack so that kernels may read a vector past the end of a packed panel.
    const size_t bytes = ((floats + 64) * sizeof(float) + 63) / 64 * 64;
    set.data[slot] = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (set.data[slot] == nullptr) throw std::bad_alloc();
    set.size[slot] = floats;
  }
  return set.data[slot];
}

}  // namespace detail
}  // namespace mlcp::ops
