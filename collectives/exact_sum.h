// Exact, reproducible summation of float32 vectors over ranks: the result has the same bits
// for any number of ranks, any split of the contributions between them, any order, and any
// algorithm MPI picks.
//
// The buffer is a concatenation of segments (one per tensor). Per segment, every contribution
// is rounded once to a fixed-point grid 2^-S and the integers are added — integer addition is
// associative, so nothing else can change the result. The method, as numbered steps:
//  1. Local max |x| per segment over this rank's contributions (+inf if a value is not finite).
//  2. Allreduce MAX of the per-segment maxima (exact: MAX does not round).
//     A non-finite maximum means the step's gradient is not finite: every rank returns false.
//  3. Per segment, with max = f * 2^e (0.5 <= f < 1) and M contributions in all:
//        S = 62 - e - ceil(log2 M)
//     so |x| * 2^S < 2^62 / M for every contribution, and the sum of M of them fits in int64.
//     (A segment whose maximum is 0 is all zeros.)
//  4. Every contribution: q = llrint(x * 2^S) (computed on the float's bits: fixed_point.h),
//     added into one int64 accumulator per element.
//  5. Reduce-scatter of the int64 accumulator (padded to a multiple of the rank count): rank r
//     owns block r of the exact integer sums. It converts its block once,
//        y = float(double(sum) * (2^-S * scale)),
//     and an allgather of float32 blocks gives every rank the whole result. This moves 1.5x the
//     bytes of a float32 allreduce; the owner of a block changes with the placement but the
//     formula does not, so the bits do not either.
//     Both are rings over the communicator's isend/irecv (tags kReduceTag and kGatherTag,
//     reserved), in chunks, so quantising and adding overlap the transfers and the deadline
//     of CollectiveOptions applies to every chunk. Integer addition makes the ring's order
//     irrelevant to the result.
// Precision: each contribution loses at most half a unit of 2^-S, i.e. about 2^-(62-log2 M)
// relative to the segment's largest value (about 2^-58 for M = 16): finer than float32's
// 2^-24, so the result is the correctly rounded sum up to that tiny absolute error.
// Memory: one int64 per element (plus the padded float block).
#pragma once

#include <cstdint>
#include <vector>

#include "collectives/communicator.h"

namespace mlcp::collectives {

class ExactSum {
 public:
  // `segments`: the element count of each segment, in buffer order.
  ExactSum(Communicator& comm, std::vector<int64_t> segments);

  // Sums this rank's `local` contributions (each `total()` floats) with every other rank's;
  // `contributions` is the number of contributions over all ranks (M). Writes
  // scale * (exact sum) into `out` (total() floats) on every rank. Returns false — on every
  // rank — when any contribution holds a non-finite value; `out` is then unspecified.
  bool reduce(const std::vector<const float*>& local, int64_t contributions, double scale,
              float* out, const CollectiveOptions& opts = {});

  int64_t total() const { return total_; }
  // Point-to-point tags this class uses on the communicator.
  static constexpr int kReduceTag = 0x3E50, kGatherTag = 0x3E51;
  // The grid exponent S of each segment in the last reduce.
  const std::vector<int>& exponents() const { return exponents_; }

 private:
  // Elements per message: large enough for full bandwidth, small enough to pipeline.
  static constexpr int64_t kChunk = int64_t{1} << 18;
  // acc_[begin, end) = sum over `local` of the contributions quantised to each segment's grid.
  void quantizeRange(const std::vector<const float*>& local, int64_t begin, int64_t end);
  // out[i - begin] = float((sums + more)[i - begin] * 2^-S * scale) for i in [begin, end), 0
  // past total_; `more` may be null.
  void convertRange(const int64_t* sums, const int64_t* more, int64_t begin, int64_t end,
                    float* out) const;
  size_t segmentOf(int64_t element) const;

  Communicator& comm_;
  std::vector<int64_t> segments_, offsets_;
  int64_t total_ = 0, padded_ = 0;
  std::vector<int> exponents_;
  std::vector<double> from_grid_;
  std::vector<int64_t> acc_, recv_;
  std::vector<float> gathered_;
};

}  // namespace mlcp::collectives
