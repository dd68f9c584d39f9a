#include "collectives/exact_sum.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <thread>

#include "base/error.h"
#include "collectives/fixed_point.h"
#include "collectives/ring.h"

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
  from_grid_.assign(segments_.size(), 1.0);
  nonzero_.assign(segments_.size(), 0);
}

void ExactSum::validateCall(int64_t local_count, int64_t contributions,
                            const std::vector<float*>& out) const {
  require(contributions >= 1 && contributions >= local_count,
          "ExactSum: contributions must count every rank's local buffers");
  require(out.size() == segments_.size(), "ExactSum: one output pointer per segment");
  for (size_t k = 0; k < segments_.size(); ++k) {
    require(out[k] != nullptr || segments_[k] == 0,
            "ExactSum: null output for a non-empty segment");
  }
}

void ExactSum::validateContribution(const std::vector<const float*>& c) const {
  require(c.size() == segments_.size(), "ExactSum: one pointer per segment in every contribution");
  for (size_t k = 0; k < segments_.size(); ++k) {
    require(c[k] != nullptr || segments_[k] == 0, "ExactSum: null segment that is not empty");
  }
}

const float* const* ExactSum::segmentPointers(const std::vector<std::vector<const float*>>& local,
                                              size_t k) {
  seg_ptrs_.resize(local.size());
  for (size_t c = 0; c < local.size(); ++c) seg_ptrs_[c] = local[c][k];
  return seg_ptrs_.data();
}

void ExactSum::quantizeRange(const std::vector<std::vector<const float*>>& local, int64_t begin,
                             int64_t end) {
  int64_t* acc = acc_.data();
  std::fill(acc + std::max(begin, std::min(end, total_)), acc + end, int64_t{0});  // padding
  forEachPiece(begin, end, [&](size_t k, int64_t a, int64_t b) {
    sumToFixedPoint(segmentPointers(local, k), static_cast<int>(local.size()), a - offsets_[k],
                    b - a, exponents_[k], acc + a);
  });
}

void ExactSum::addQuantizedRange(const float* x, int64_t begin, int64_t end, int64_t* acc) const {
  forEachPiece(begin, end, [&](size_t k, int64_t a, int64_t b) {
    const float* xa = x + (a - begin);
    addToFixedPoint(&xa, 1, 0, b - a, exponents_[k], acc + (a - begin));
  });
}

const float* ExactSum::floatsOfRange(const std::vector<const float*>& c, int64_t begin, int64_t end,
                                     float* staging) const {
  const size_t k = segmentOf(begin);
  if (end <= total_ && begin < end && offsets_[k] + segments_[k] >= end) {
    return c[k] + (begin - offsets_[k]);  // inside one segment
  }
  std::fill(staging + std::max<int64_t>(0, std::min(end, total_) - begin), staging + (end - begin),
            0.0f);
  forEachPiece(begin, end, [&](size_t j, int64_t a, int64_t b) {
    std::memcpy(staging + (a - begin), c[j] + (a - offsets_[j]),
                static_cast<size_t>(b - a) * sizeof(float));
  });
  return staging;
}

void ExactSum::convertRange(const int64_t* sums, const int64_t* more, int64_t begin, int64_t end,
                            float* out) const {
  const int64_t stop = std::max(begin, std::min(end, total_));
  std::fill(out + (stop - begin), out + (end - begin), 0.0f);  // padding
  forEachPiece(begin, end, [&](size_t k, int64_t a, int64_t b) {
    fromFixedPoint(sums + (a - begin), more != nullptr ? more + (a - begin) : nullptr, b - a,
                   from_grid_[k], out + (a - begin));
  });
}

void ExactSum::setExponents(const std::vector<float>& maxima, int64_t contributions, double scale) {
  const int headroom = ceilLog2(contributions);
  for (size_t k = 0; k < segments_.size(); ++k) {
    int e = 0;
    if (maxima[k] > 0.0f) std::frexp(static_cast<double>(maxima[k]), &e);
    exponents_[k] = maxima[k] > 0.0f ? 62 - e - headroom : 0;
    from_grid_[k] = std::ldexp(1.0, -exponents_[k]) * scale;
    nonzero_[k] = maxima[k] > 0.0f ? 1 : 0;
  }
  have_exponents_ = true;
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
  validateCall(static_cast<int64_t>(local.size()), contributions, out);
  const size_t nseg = segments_.size();
  for (const auto& c : local) validateContribution(c);
  resummed_ = 0;
  // 1. On the bits: |x| orders like its bits without the sign, and inf/NaN are the bit
  // patterns from 0x7F800000 up, so one integer max (which vectorises) finds both.
  std::vector<float> maxima(nseg, 0.0f);
  for (const auto& c : local) {
    for (size_t k = 0; k < nseg; ++k) {
      const uint32_t m = scanForGrid(c[k], segments_[k], 0).max_abs_bits;
      float mf;
      std::memcpy(&mf, &m, sizeof mf);
      if (m >= 0x7F800000u) mf = std::numeric_limits<float>::infinity();
      maxima[k] = std::max(maxima[k], mf);
    }
  }
  // 2. Two more entries ride along: the largest and (negated) smallest number of local
  // contributions, which decide what the ring's first step sends (4 + 5a).
  const float count = static_cast<float>(local.size());
  maxima.push_back(count);
  maxima.push_back(-count);
  comm_.allreduce(maxima.data(), static_cast<int64_t>(maxima.size()), DataType::kFloat32,
                  ReduceOp::kMax, opts);
  const bool one_each = maxima[nseg] == 1.0f && maxima[nseg + 1] == -1.0f;
  maxima.resize(nseg);
  for (float m : maxima) {
    if (!std::isfinite(m)) return false;
  }
  // 3.
  setExponents(maxima, contributions, scale);
  const int p = comm_.size(), r = comm_.rank();
  if (p == 1) {
    // 4 + 5 with nothing to transfer, a chunk at a time (finishRange): no accumulator of
    // total() elements.
    acc_.resize(static_cast<size_t>(kFusedChunk));
    guess_holds_.assign(nseg, 0);  // no guessed grid: every segment from its contributions
    finishRange(0, total_, local, false, out, acc_.data());
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
  // 4 + 5a. Ring reduce-scatter over int64 (collectives/ring.h), pipelined in chunks: at step t
  // rank r sends its partial sums of block (r-1-t) mod p to rank r+1 and adds rank r-1's partial
  // sums of block (r-2-t) mod p into its own; after p-1 steps it holds the full sums of block r.
  // Each block is quantised just before it is first needed, so quantising overlaps the
  // transfers. Where every rank has one contribution, the first step sends that contribution's
  // float32 values instead (half the bytes) and the receiver quantises them: quantising is a
  // function of the float and S alone, and int64 addition is exact, so the sums are the same.
  // Block (r-1) mod p is then never quantised on rank r: the first step is its only use here.
  auto mod = [p](int i) { return ((i % p) + p) % p; };
  if (one_each) {
    send_floats_.resize(static_cast<size_t>(block));
  } else {
    quantizeRange(local, mod(r - 1) * block, mod(r - 1) * block + block);
  }
  Ring reduce_ring(comm_, kReduceTag, kChunk);
  reduce_ring.reduceScatter(
      block,
      [&](const RingStep& step) {
        const int64_t at = step.send_block * block;
        if (one_each && step.t == 0) {
          return RingPayload{floatsOfRange(local[0], at, at + block, send_floats_.data()),
                             DataType::kFloat32};
        }
        return RingPayload{acc_.data() + at, DataType::kInt64};
      },
      [&](const RingStep& step) {
        if (step.t != 0) return;
        // Every other block is first touched now: quantise while the first chunks travel.
        for (int b = 0; b < p; ++b) {
          if (b != mod(r - 1)) quantizeRange(local, b * block, b * block + block);
        }
      },
      [&](const RingStep& step, int64_t c, int64_t n, const void* received) {
        const int64_t add_at = step.recv_block * block;
        int64_t* dst = acc_.data() + add_at + c;
        if (one_each && step.t == 0) {
          // A cache-sized piece at a time: quantise the neighbour's floats onto the sums, then
          // (on the last step) convert while the sums are still in cache.
          const auto* floats = static_cast<const float*>(received);
          for (int64_t f = 0; f < n; f += kFusedChunk) {
            const int64_t m = std::min(kFusedChunk, n - f), at = add_at + c + f;
            addQuantizedRange(floats + f, at, at + m, dst + f);
            if (step.last) convertRange(dst + f, nullptr, at, at + m, result + at);
          }
        } else if (step.last) {  // block r: add and convert in one pass
          convertRange(dst, static_cast<const int64_t*>(received), add_at + c, add_at + c + n,
                       result + add_at + c);
        } else {
          const auto* src = static_cast<const int64_t*>(received);
          for (int64_t j = 0; j < n; ++j) dst[j] += src[j];
        }
      },
      opts);
  // 5b. Rank r has converted block r (in the last step above); a ring allgather of float32
  // blocks completes the result.
  Ring(comm_, kGatherTag, kChunk).allgather(result, block, DataType::kFloat32, opts);
  // Into the caller's segments, unless the rings wrote it there.
  for (size_t k = 0; k < nseg && !out_is_flat; ++k) {
    if (segments_[k] > 0) {
      std::memcpy(out[k], result + offsets_[k], static_cast<size_t>(segments_[k]) * sizeof(float));
    }
  }
  return true;
}

std::vector<GridScan> ExactSum::fold(const std::vector<const float*>& c, bool first) {
  std::vector<GridScan> scans(segments_.size());
  for (size_t k = 0; k < segments_.size(); ++k) {
    const int64_t n = segments_[k];
    if (n == 0) continue;
    if (!has_guess_[k]) {  // its maximum is all this round needs of it
      scans[k] = scanForGrid(c[k], n, guess_[k]);
      continue;
    }
    scans[k] = quantizeAndScan(c[k], n, guess_[k], /*add=*/!first, guess_acc_.data() + offsets_[k]);
  }
  return scans;
}

void ExactSum::add(std::vector<const float*> contribution) {
  validateContribution(contribution);
  if (comm_.size() > 1) {  // reduceAdded() runs reduce() on them
    added_.push_back(std::move(contribution));
    return;
  }
  const size_t nseg = segments_.size();
  if (added_.empty()) {
    // A new round: guess each segment's grid from the last reduce's, one place coarser.
    guess_.assign(nseg, 0);
    has_guess_.assign(nseg, 0);
    for (size_t k = 0; k < nseg; ++k) {
      has_guess_[k] = have_exponents_ && nonzero_[k] != 0 ? 1 : 0;
      guess_[k] = exponents_[k] - 1;
    }
    guess_acc_.resize(static_cast<size_t>(total_));
    if (!helper_) helper_ = std::make_unique<BackgroundWorker>();
  }
  const bool first = added_.empty();
  // The task gets its own copy of the pointers: added_ may grow while it runs. Recorded only
  // once queued, so that a failure to queue leaves no contribution without its fold.
  auto folded = helper_->submit([this, c = contribution, first] { return fold(c, first); });
  folds_.push_back(std::move(folded));
  added_.push_back(std::move(contribution));
}

bool ExactSum::reduceAdded(const std::vector<const float*>& last, int64_t contributions,
                           double scale, const std::vector<float*>& out,
                           const CollectiveOptions& opts) {
  if (!last.empty()) validateContribution(last);
  if (comm_.size() > 1 || added_.empty()) {
    // Several ranks (or nothing added): the plain reduce on every contribution.
    std::vector<std::vector<const float*>> local = std::move(added_);
    added_.clear();
    if (!last.empty()) local.push_back(last);
    return reduce(local, contributions, scale, out, opts);
  }
  const size_t nseg = segments_.size();
  validateCall(static_cast<int64_t>(added_.size()) + (last.empty() ? 0 : 1), contributions, out);
  // From here on added_ holds every local contribution, `last` (if any) at the end.
  const bool last_given = !last.empty();
  if (last_given) added_.push_back(last);
  // The helper's share of step 4 + 5, the elements [half, total()), is queued now, behind the
  // folds: waking a sleeping thread takes tens of microseconds on a virtual machine, which then
  // overlap the scan below. It starts once `verdicts` says the guesses are judged (1), or
  // returns at once (-1: the sum is not finite, or this thread left early). The guard settles
  // `verdicts` and waits for the task on every way out of this function, exceptions included.
  std::atomic<int> verdicts{0};
  const int64_t half = total_ / 2 / 8 * 8;
  helper_chunk_.resize(static_cast<size_t>(kFusedChunk));
  struct Settle {
    std::atomic<int>& verdicts;
    std::future<void> task;
    ~Settle() {
      int open = 0;
      verdicts.compare_exchange_strong(open, -1, std::memory_order_acq_rel);
      if (task.valid()) task.wait();
    }
  } helper_share{verdicts, helper_->submit([&] {
                   int v;
                   while ((v = verdicts.load(std::memory_order_acquire)) == 0)
                     std::this_thread::yield();
                   if (v > 0)
                     finishRange(half, total_, added_, last_given, out, helper_chunk_.data());
                 })};
  // The last contribution's scan, while the helper may still fold the one before.
  std::vector<GridScan> combined(nseg);
  for (size_t k = 0; k < nseg && !last.empty(); ++k) {
    if (segments_[k] > 0) combined[k] = scanForGrid(last[k], segments_[k], guess_[k]);
  }
  for (auto& f : folds_) {
    const auto scans = f.get();
    for (size_t k = 0; k < nseg; ++k) {
      combined[k].max_abs_bits = std::max(combined[k].max_abs_bits, scans[k].max_abs_bits);
      combined[k].exact = combined[k].exact && scans[k].exact;
    }
  }
  folds_.clear();
  // Steps 1-3 of reduce(), from the scans' maxima.
  std::vector<float> maxima(nseg, 0.0f);
  for (size_t k = 0; k < nseg; ++k) {
    if (combined[k].max_abs_bits >= 0x7F800000u) {
      added_.clear();
      return false;
    }
    std::memcpy(&maxima[k], &combined[k].max_abs_bits, sizeof(float));
  }
  setExponents(maxima, contributions, scale);
  // The verdicts (header comment): G rounded nothing and G <= S, and both conversion factors
  // are normal doubles that no product of an int64 by them takes out of the normal range, so a
  // power of two between them moves no rounding.
  from_guess_.assign(nseg, 0.0);
  guess_holds_.assign(nseg, 0);
  resummed_ = 0;
  auto tame = [](double f) { return f >= 0x1p-1000 && f <= 0x1p900; };
  for (size_t k = 0; k < nseg; ++k) {
    from_guess_[k] = std::ldexp(1.0, -guess_[k]) * scale;
    const bool holds = has_guess_[k] && combined[k].exact && guess_[k] <= exponents_[k] &&
                       tame(from_guess_[k]) && tame(from_grid_[k]);
    guess_holds_[k] = holds ? 1 : 0;
    if (!holds && segments_[k] > 0) ++resummed_;
  }
  // 4 + 5, the elements split between this thread and the helper.
  acc_.resize(static_cast<size_t>(kFusedChunk));
  verdicts.store(1, std::memory_order_release);
  finishRange(0, half, added_, last_given, out, acc_.data());
  helper_share.task.get();  // rethrows what the helper's share threw
  added_.clear();
  return true;
}

void ExactSum::finishRange(int64_t begin, int64_t end,
                           const std::vector<std::vector<const float*>>& local, bool last_given,
                           const std::vector<float*>& out, int64_t* chunk) const {
  std::vector<const float*> xs(local.size());
  forEachPiece(begin, end, [&](size_t k, int64_t piece_begin, int64_t piece_end) {
    const int64_t from = piece_begin - offsets_[k], to = piece_end - offsets_[k];
    const bool guessed = guess_holds_[k] != 0;
    // Guessed: only the last contribution is quantised here, onto the folded sums.
    const int count = guessed ? (last_given ? 1 : 0) : static_cast<int>(local.size());
    const size_t first = local.size() - static_cast<size_t>(count);
    for (int c = 0; c < count; ++c)
      xs[static_cast<size_t>(c)] = local[first + static_cast<size_t>(c)][k];
    const int64_t* folded = guessed ? guess_acc_.data() + offsets_[k] : nullptr;
    for (int64_t a = from; a < to; a += kFusedChunk) {
      const int64_t n = std::min(kFusedChunk, to - a);
      if (!guessed || count > 0) {  // (no contribution at all: sums of zero)
        sumToFixedPoint(xs.data(), count, a, n, guessed ? guess_[k] : exponents_[k], chunk);
      }
      if (!guessed)
        fromFixedPoint(chunk, nullptr, n, from_grid_[k], out[k] + a);
      else
        fromFixedPoint(folded + a, count > 0 ? chunk : nullptr, n, from_guess_[k], out[k] + a);
    }
  });
}

}  // namespace mlcp::collectives
