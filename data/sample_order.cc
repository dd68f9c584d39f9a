#include "data/sample_order.h"

#include "base/error.h"

namespace mlcp::data {

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::below(uint64_t bound) {
  // Lemire, "Fast random integer generation in an interval" (2019).
  unsigned __int128 m = static_cast<unsigned __int128>(next()) * bound;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < bound) {
    const uint64_t threshold = -bound % bound;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(next()) * bound;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

uint64_t mixSeed(std::initializer_list<uint64_t> words) {
  uint64_t h = 0x6A09E667F3BCC909ULL;
  for (uint64_t w : words) {
    SplitMix64 g(h ^ w);
    h = g.next();
  }
  return h;
}

std::vector<int64_t> sampleOrder(uint64_t seed, uint64_t epoch, int64_t n) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  SplitMix64 g(mixSeed({seed, epoch, 0x5A3D0A7AULL}));
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(g.below(static_cast<uint64_t>(i) + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

MicroBatchPlan::MicroBatchPlan(uint64_t seed, int64_t num_samples, int64_t global_batch,
                               int64_t micro_batches)
    : seed_(seed),
      num_samples_(num_samples),
      global_batch_(global_batch),
      micro_batches_(micro_batches),
      steps_per_epoch_(global_batch > 0 ? num_samples / global_batch : 0) {
  require(micro_batches > 0 && global_batch % micro_batches == 0,
          "global batch must split into equal micro-batches");
  if (steps_per_epoch_ == 0) {
    throw UsageError("the training set has " + std::to_string(num_samples) +
                     " samples, fewer than one global batch of " + std::to_string(global_batch));
  }
}

const std::vector<int64_t>& MicroBatchPlan::orderFor(int64_t epoch) {
  if (epoch != cached_epoch_) {
    cached_order_ = sampleOrder(seed_, static_cast<uint64_t>(epoch), num_samples_);
    cached_epoch_ = epoch;
  }
  return cached_order_;
}

std::vector<int64_t> MicroBatchPlan::microBatch(int64_t step, int64_t mb) {
  require(mb >= 0 && mb < micro_batches_, "micro-batch index out of range");
  const int64_t epoch = step / steps_per_epoch_;
  const int64_t pos = step % steps_per_epoch_;
  const auto& order = orderFor(epoch);
  const int64_t size = microBatchSize();
  const int64_t begin = pos * global_batch_ + mb * size;
  return {order.begin() + begin, order.begin() + begin + size};
}

}  // namespace mlcp::data
