// bench_stats.h — the statistics the benchmarks print.
#pragma once

#include <algorithm>
#include <vector>

namespace mlcp::bench {

// The median of v (the mean of the two middle values for an even count); v non-empty.
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  return v.size() % 2 == 1 ? v[mid] : 0.5 * (v[mid - 1] + v[mid]);
}

}  // namespace mlcp::bench
