// The global sample order: a pure function of (seed, epoch), and the fixed contents of every
// logical micro-batch. Nothing here depends on the number of ranks: a rank is only told which
// logical micro-batch indices to run.
//
//   step s  ->  epoch e = s / stepsPerEpoch,  position p = s % stepsPerEpoch
//   global batch of step s   = order(seed, e)[p*B .. p*B + B)          (last partial batch dropped)
//   micro-batch j of step s  = the j-th contiguous slice of size B/M of that global batch
//
// The permutation is a Fisher–Yates shuffle driven by SplitMix64 seeded with (seed, epoch); the
// bounded draws use Lemire's multiply-shift with rejection, so the result is the same on every
// platform and standard library (std::uniform_int_distribution is not specified bit for bit).
#pragma once

#include <cstdint>
#include <vector>

namespace mlcp::data {

// SplitMix64 (Steele, Lea, Flood 2014): a tiny counter-based generator; state advances by a
// fixed odd constant, output is a bijective mix of the state.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // Uniform in [0, bound), bound > 0, without modulo bias.
  uint64_t below(uint64_t bound);

 private:
  uint64_t state_;
};

// Mixes several 64-bit words into one seed (used for (seed, epoch) and for dropout keys
// (seed, step, micro-batch)). Order matters; the result is platform independent.
uint64_t mixSeed(std::initializer_list<uint64_t> words);

// The permutation of [0, n) for (seed, epoch).
std::vector<int64_t> sampleOrder(uint64_t seed, uint64_t epoch, int64_t n);

class MicroBatchPlan {
 public:
  // n samples, global batch B split into M logical micro-batches of B/M samples.
  MicroBatchPlan(uint64_t seed, int64_t num_samples, int64_t global_batch, int64_t micro_batches);

  int64_t stepsPerEpoch() const { return steps_per_epoch_; }
  int64_t microBatchSize() const { return global_batch_ / micro_batches_; }
  int64_t microBatches() const { return micro_batches_; }
  // The sample indices of logical micro-batch `mb` of global step `step`.
  std::vector<int64_t> microBatch(int64_t step, int64_t mb);

 private:
  const std::vector<int64_t>& orderFor(int64_t epoch);

  uint64_t seed_;
  int64_t num_samples_, global_batch_, micro_batches_, steps_per_epoch_;
  int64_t cached_epoch_ = -1;
  std::vector<int64_t> cached_order_;
};

}  // namespace mlcp::data
