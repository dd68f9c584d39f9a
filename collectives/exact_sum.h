// Exact, reproducible summation of float32 vectors over ranks: the result has the same bits
// for any number of ranks, any split of the contributions between them, any order, and any
// algorithm MPI picks.
//
// A vector is made of segments (one per tensor), each given by its own pointer (or all of them
// as one buffer, concatenated). Per segment, every contribution is rounded once to a fixed-point
// grid 2^-S and the integers are added — integer addition is associative, so nothing else can
// change the result. The method, as numbered steps:
//  1. Local max |x| per segment over this rank's contributions (+inf if a value is not finite).
//  2. Allreduce MAX of the per-segment maxima (exact: MAX does not round).
//     A non-finite maximum means the step's gradient is not finite: every rank returns false.
//  3. Per segment, with max = f * 2^e (0.5 <= f < 1) and M contributions in all:
//        S = 62 - e - ceil(log2 M)
//     so |x| * 2^S < 2^62 / M for every contribution, and the sum of M of them fits in int64.
//     (A segment whose maximum is 0 is all zeros.)
//  4. Every contribution: q = llrint(x * 2^S) (computed on the float's bits: fixed_point.h),
//     added into one int64 sum per element.
//  5. Each exact sum is converted once, y = float(double(sum) * (2^-S * scale)), on the rank
//     that holds it complete:
//     - One rank: steps 4 and 5 run a few thousand elements at a time, straight into the output
//       segments; the int64 sums of a chunk stay in cache.
//     - p ranks: reduce-scatter of a flat int64 accumulator of all segments (padded to a
//       multiple of p): rank r owns block r of the exact integer sums and converts it, and an
//       allgather of float32 blocks gives every rank the whole result, then copied into the
//       output segments (unless they are one unpadded buffer: the rings then work in it).
//       This moves 1.5x the bytes of a float32 allreduce; the owner of a block changes with
//       the placement but the formula does not, so the bits do not either. Both are rings
//       over the communicator's isend/irecv (tags kReduceTag and kGatherTag, reserved), in
//       chunks, so quantising and adding overlap the transfers and the deadline of
//       CollectiveOptions applies to every chunk. Integer addition makes the ring's order
//       irrelevant to the result.
// Precision: each contribution loses at most half a unit of 2^-S, i.e. about 2^-(62-log2 M)
// relative to the segment's largest value (about 2^-58 for M = 16): finer than float32's
// 2^-24, so the result is the correctly rounded sum up to that tiny absolute error.
// Memory: on one rank a chunk of int64 sums; on p ranks one int64 per element (padded), and
// one float per element where the result is copied into the output segments.
#pragma once

#include <cstdint>
#include <vector>

#include "collectives/communicator.h"

namespace mlcp::collectives {

class ExactSum {
 public:
  // `segments`: the element count of each segment, in buffer order.
  ExactSum(Communicator& comm, std::vector<int64_t> segments);

  // Sums this rank's `local` contributions with every other rank's; `contributions` is the
  // number of contributions over all ranks (M). Contribution c is given segment by segment:
  // local[c][k] points at its segments()[k] floats, and scale * (exact sum) of segment k is
  // written to out[k] on every rank. A pointer may be null only for an empty segment. An
  // out[k] may be one contribution's local[c][k] itself (computed in place); no other overlap
  // is allowed. Returns false — on every rank — when any contribution holds a non-finite
  // value; `out` is then unspecified.
  bool reduce(const std::vector<std::vector<const float*>>& local, int64_t contributions,
              double scale, const std::vector<float*>& out, const CollectiveOptions& opts = {});
  // The same, for contributions and a result that are each one buffer of total() floats, the
  // segments concatenated in order: the segmented reduce on pointers into them (same bits).
  bool reduce(const std::vector<const float*>& local, int64_t contributions, double scale,
              float* out, const CollectiveOptions& opts = {});

  const std::vector<int64_t>& segments() const { return segments_; }
  int64_t total() const { return total_; }
  // Point-to-point tags this class uses on the communicator.
  static constexpr int kReduceTag = 0x3E50, kGatherTag = 0x3E51;
  // The grid exponent S of each segment in the last reduce.
  const std::vector<int>& exponents() const { return exponents_; }

 private:
  // Elements per message: large enough for full bandwidth, small enough to pipeline.
  static constexpr int64_t kChunk = int64_t{1} << 18;
  // Elements quantised and converted at a time on one rank (step 5): the int64 sums, in acc_,
  // stay in L1/L2.
  static constexpr int64_t kFusedChunk = 4096;
  // seg_ptrs_[c] = local[c][k]: segment k of every contribution, as sumToFixedPoint takes it.
  const float* const* segmentPointers(const std::vector<std::vector<const float*>>& local,
                                      size_t k);
  // acc_[begin, end) = sum over `local` of the contributions quantised to each segment's grid.
  void quantizeRange(const std::vector<std::vector<const float*>>& local, int64_t begin,
                     int64_t end);
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
  std::vector<const float*> seg_ptrs_;
};

}  // namespace mlcp::collectives
