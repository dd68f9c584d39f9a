#include "collectives/exact_sum.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "collectives/fixed_point.h"
#include "runtime/error.h"

namespace mlcp::collectives {
namespace {

// The max loop, compiled twice on x86-64 (AVX2 and the baseline) and picked at load time.
// It is integer-only, so both versions give the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MLCP_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MLCP_VECTOR_CLONES
#endif

// The largest |x| as bits without the sign (>= 0x7F800000 when some x is inf or NaN).
MLCP_VECTOR_CLONES uint32_t maxAbsBits(const float* x, int64_t n) {
  uint32_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t a;
    std::memcpy(&a, x + i, sizeof a);
    a &= 0x7FFFFFFFu;
    m = a > m ? a : m;
  }
  return m;
}

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
  from_grid_.assign(segments_.size(), 1.0);
}

const float* const* ExactSum::segmentPointers(
    const std::vector<std::vector<const float*>>& local, size_t k) {
  seg_ptrs_.resize(local.size());
  for (size_t c = 0; c < local.size(); ++c) seg_ptrs_[c] = local[c][k];
  return seg_ptrs_.data();
}

void ExactSum::quantizeRange(const std::vector<std::vector<const float*>>& local, int64_t begin,
                             int64_t end) {
  int64_t* acc = acc_.data();
  const int64_t stop = std::min(end, total_);
  std::fill(acc + std::max(begin, stop), acc + end, int64_t{0});  // padding
  size_t k = segmentOf(begin);
  for (int64_t a = begin; a < stop; ++k) {
    const int64_t b = std::min(stop, offsets_[k] + segments_[k]);
    if (b > a) {
      sumToFixedPoint(segmentPointers(local, k), static_cast<int>(local.size()), a - offsets_[k],
                      b - a, exponents_[k], acc + a);
    }
    a = b;
  }
}

void ExactSum::convertRange(const int64_t* sums, const int64_t* more, int64_t begin, int64_t end,
                            float* out) const {
  const int64_t stop = std::max(begin, std::min(end, total_));
  std::fill(out + (stop - begin), out + (end - begin), 0.0f);  // padding
  size_t k = segmentOf(begin);
  for (int64_t a = begin; a < stop; ++k) {
    const int64_t b = std::min(stop, offsets_[k] + segments_[k]);
    fromFixedPoint(sums + (a - begin), more != nullptr ? more + (a - begin) : nullptr, b - a,
             from_grid_[k], out + (a - begin));
    a = b;
  }
}

size_t ExactSum::segmentOf(int64_t element) const {
  // The last segment starting at or before `element` that is not empty.
  auto it = std::upper_bound(offsets_.begin(), offsets_.end(), element);
  size_t k = static_cast<size_t>(it - offsets_.begin());
  k = k == 0 ? 0 : k - 1;
  while (k + 1 < segments_.size() && segments_[k] == 0) ++k;
  return k;
}

bool ExactSum::reduce(const std::vector<const float*>& local, int64_t contributions, double scale,
                      float* out, const CollectiveOptions& opts) {
  std::vector<std::vector<const float*>> segmented(local.size());
  for (size_t c = 0; c < local.size(); ++c) {
    for (int64_t offset : offsets_) segmented[c].push_back(local[c] + offset);
  }
  std::vector<float*> out_segments;
  for (int64_t offset : offsets_) out_segments.push_back(out + offset);
  return reduce(segmented, contributions, scale, out_segments, opts);
}

bool ExactSum::reduce(const std::vector<std::vector<const float*>>& local, int64_t contributions,
                      double scale, const std::vector<float*>& out, const CollectiveOptions& opts) {
  require(contributions >= 1 && contributions >= static_cast<int64_t>(local.size()),
          "ExactSum: contributions must count every rank's local buffers");
  const size_t nseg = segments_.size();
  require(out.size() == nseg, "ExactSum: one output pointer per segment");
  for (size_t k = 0; k < nseg; ++k) {
    require(out[k] != nullptr || segments_[k] == 0, "ExactSum: null output for a non-empty segment");
  }
  for (const auto& c : local) {
    require(c.size() == nseg, "ExactSum: one pointer per segment in every contribution");
    for (size_t k = 0; k < nseg; ++k) {
      require(c[k] != nullptr || segments_[k] == 0, "ExactSum: null segment that is not empty");
    }
  }
  // 1. On the bits: |x| orders like its bits without the sign, and inf/NaN are the bit
  // patterns from 0x7F800000 up, so one integer max (which vectorises) finds both.
  std::vector<float> maxima(nseg, 0.0f);
  for (const auto& c : local) {
    for (size_t k = 0; k < nseg; ++k) {
      const uint32_t m = maxAbsBits(c[k], segments_[k]);
      float mf;
      std::memcpy(&mf, &m, sizeof mf);
      if (m >= 0x7F800000u) mf = std::numeric_limits<float>::infinity();
      maxima[k] = std::max(maxima[k], mf);
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
  for (size_t k = 0; k < nseg; ++k) {
    int e = 0;
    if (maxima[k] > 0.0f) std::frexp(static_cast<double>(maxima[k]), &e);
    exponents_[k] = maxima[k] > 0.0f ? 62 - e - headroom : 0;
    from_grid_[k] = std::ldexp(1.0, -exponents_[k]) * scale;
  }
  const int p = comm_.size(), r = comm_.rank();
  if (p == 1) {
    // 4 + 5 with nothing to transfer: quantise and convert kFusedChunk elements at a time, so
    // the int64 sums stay in cache instead of going through an accumulator of total() elements.
    // Each chunk is read before its result is written, which makes out[k] == local[c][k] safe.
    acc_.resize(static_cast<size_t>(kFusedChunk));
    for (size_t k = 0; k < nseg; ++k) {
      const float* const* xs = segmentPointers(local, k);
      for (int64_t a = 0; a < segments_[k]; a += kFusedChunk) {
        const int64_t n = std::min(kFusedChunk, segments_[k] - a);
        sumToFixedPoint(xs, static_cast<int>(local.size()), a, n, exponents_[k], acc_.data());
        fromFixedPoint(acc_.data(), nullptr, n, from_grid_[k], out[k] + a);
      }
    }
    return true;
  }
  const int64_t block = padded_ / p;
  acc_.resize(static_cast<size_t>(padded_));
  // The rings need the result as one buffer of padded_ floats: the caller's when its segments
  // are one such buffer already (the flat reduce with no padding), else gathered_, copied out
  // at the end. Either is written only after every contribution was quantised (step t = 0
  // below), so an out[k] that is a local[c][k] is safe.
  bool out_is_flat = padded_ == total_ && nseg > 0 && out[0] != nullptr;
  for (size_t k = 0; k < nseg && out_is_flat; ++k) {
    out_is_flat = segments_[k] == 0 || out[k] == out[0] + offsets_[k];
  }
  if (!out_is_flat) gathered_.resize(static_cast<size_t>(padded_));
  float* result = out_is_flat ? out[0] : gathered_.data();
  // 4 + 5a. Ring reduce-scatter over int64, pipelined in chunks: at step t rank r sends its
  // partial sums of block (r-1-t) mod p to rank r+1 and adds rank r-1's partial sums of block
  // (r-2-t) mod p into its own; after p-1 steps it holds the full sums of block r. Each block
  // is quantised just before it is first needed, so quantising overlaps the transfers.
  const int right = (r + 1) % p, left = (r - 1 + p) % p;
  auto mod = [p](int i) { return ((i % p) + p) % p; };
  recv_.resize(static_cast<size_t>(block));
  std::vector<std::unique_ptr<Work>> sends, recvs;
  quantizeRange(local, mod(r - 1) * block, mod(r - 1) * block + block);
  for (int t = 0; t < p - 1; ++t) {
    const int64_t send_at = mod(r - 1 - t) * block, add_at = mod(r - 2 - t) * block;
    sends.clear();
    recvs.clear();
    for (int64_t c = 0; c < block; c += kChunk) {
      const int64_t n = std::min(kChunk, block - c);
      recvs.push_back(comm_.irecv(recv_.data() + c, n, DataType::kInt64, left, kReduceTag));
      sends.push_back(
          comm_.isend(acc_.data() + send_at + c, n, DataType::kInt64, right, kReduceTag));
    }
    if (t == 0) {
      // Every other block is first touched now: quantise while the first chunks travel.
      for (int b = 0; b < p; ++b) {
        if (b != mod(r - 1)) quantizeRange(local, b * block, b * block + block);
      }
    }
    const bool last = t == p - 2;  // then add_at is block r: add and convert in one pass
    for (size_t i = 0; i < recvs.size(); ++i) {
      recvs[i]->wait(opts);
      const int64_t c = static_cast<int64_t>(i) * kChunk, n = std::min(kChunk, block - c);
      int64_t* dst = acc_.data() + add_at + c;
      const int64_t* src = recv_.data() + c;
      if (last) {
        convertRange(dst, src, add_at + c, add_at + c + n, result + add_at + c);
      } else {
        for (int64_t j = 0; j < n; ++j) dst[j] += src[j];
      }
    }
    for (auto& w : sends) w->wait(opts);
  }
  // 5b. Rank r has converted block r (in the last step above); a ring allgather of float32
  // blocks completes the result.
  for (int t = 0; t < p - 1; ++t) {
    const int64_t send_at = mod(r - t) * block, recv_at = mod(r - 1 - t) * block;
    sends.clear();
    recvs.clear();
    for (int64_t c = 0; c < block; c += kChunk) {
      const int64_t n = std::min(kChunk, block - c);
      recvs.push_back(comm_.irecv(result + recv_at + c, n, DataType::kFloat32, left, kGatherTag));
      sends.push_back(comm_.isend(result + send_at + c, n, DataType::kFloat32, right, kGatherTag));
    }
    for (auto& w : recvs) w->wait(opts);
    for (auto& w : sends) w->wait(opts);
  }
  // Into the caller's segments, unless the rings wrote it there.
  for (size_t k = 0; k < nseg && !out_is_flat; ++k) {
    if (segments_[k] > 0) {
      std::memcpy(out[k], result + offsets_[k], static_cast<size_t>(segments_[k]) * sizeof(float));
    }
  }
  return true;
}

}  // namespace mlcp::collectives
