#include "collectives/exact_sum.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/error.h"

namespace mlcp::collectives {
namespace {

int ceilLog2(int64_t m) {
  int k = 0;
  while ((int64_t{1} << k) < m) ++k;
  return k;
}

}  // namespace

ExactSum::ExactSum(Communicator& comm, std::vector<int64_t> segments)
    : comm_(comm), segments_(std::move(segments)) {
  for (int64_t n : segments_) {
    require(n >= 0, "ExactSum: negative segment size");
    offsets_.push_back(total_);
    total_ += n;
  }
  const int64_t p = comm_.size();
  padded_ = (total_ + p - 1) / p * p;
  exponents_.assign(segments_.size(), 0);
}

bool ExactSum::reduce(const std::vector<const float*>& local, int64_t contributions, double scale,
                      float* out, const CollectiveOptions& opts) {
  require(contributions >= 1 && contributions >= static_cast<int64_t>(local.size()),
          "ExactSum: contributions must count every rank's local buffers");
  const size_t nseg = segments_.size();
  // 1.
  std::vector<float> maxima(nseg, 0.0f);
  for (const float* c : local) {
    for (size_t k = 0; k < nseg; ++k) {
      const float* x = c + offsets_[k];
      float m = maxima[k];
      for (int64_t i = 0; i < segments_[k]; ++i) {
        const float a = std::fabs(x[i]);
        if (!(a <= std::numeric_limits<float>::max())) {  // inf or NaN
          m = std::numeric_limits<float>::infinity();
          break;
        }
        m = std::max(m, a);
      }
      maxima[k] = m;
    }
  }
  // 2.
  comm_.allreduce(maxima.data(), static_cast<int64_t>(nseg), DataType::kFloat32, ReduceOp::kMax,
                  opts);
  for (float m : maxima) {
    if (!std::isfinite(m)) return false;
  }
  // 3.
  const int headroom = ceilLog2(contributions);
  std::vector<double> to_grid(nseg), from_grid(nseg);
  for (size_t k = 0; k < nseg; ++k) {
    int e = 0;
    if (maxima[k] > 0.0f) std::frexp(static_cast<double>(maxima[k]), &e);
    exponents_[k] = maxima[k] > 0.0f ? 62 - e - headroom : 0;
    to_grid[k] = std::ldexp(1.0, exponents_[k]);
    from_grid[k] = std::ldexp(1.0, -exponents_[k]) * scale;
  }
  // 4.
  acc_.assign(static_cast<size_t>(padded_), 0);
  for (const float* c : local) {
    for (size_t k = 0; k < nseg; ++k) {
      const float* x = c + offsets_[k];
      int64_t* a = acc_.data() + offsets_[k];
      const double g = to_grid[k];
      for (int64_t i = 0; i < segments_[k]; ++i) a[i] += std::llrint(static_cast<double>(x[i]) * g);
    }
  }
  // 5.
  const int64_t p = comm_.size(), block = padded_ / p, begin = comm_.rank() * block;
  block_.resize(static_cast<size_t>(block));
  comm_.reduceScatter(acc_.data(), block_.data(), block, DataType::kInt64, ReduceOp::kSum, opts);
  out_block_.resize(static_cast<size_t>(block));
  // Walk the segments overlapping [begin, begin + block).
  size_t k = static_cast<size_t>(
      std::upper_bound(offsets_.begin(), offsets_.end(), begin) - offsets_.begin());
  k = k == 0 ? 0 : k - 1;
  for (int64_t i = 0; i < block; ++i) {
    const int64_t g = begin + i;
    if (g >= total_) {
      out_block_[static_cast<size_t>(i)] = 0.0f;
      continue;
    }
    while (k + 1 < nseg && g >= offsets_[k + 1]) ++k;
    out_block_[static_cast<size_t>(i)] =
        static_cast<float>(static_cast<double>(block_[static_cast<size_t>(i)]) * from_grid[k]);
  }
  if (padded_ == total_) {
    comm_.allgather(out_block_.data(), out, block, DataType::kFloat32, opts);
  } else {
    gathered_.resize(static_cast<size_t>(padded_));
    comm_.allgather(out_block_.data(), gathered_.data(), block, DataType::kFloat32, opts);
    std::memcpy(out, gathered_.data(), static_cast<size_t>(total_) * sizeof(float));
  }
  return true;
}

}  // namespace mlcp::collectives
