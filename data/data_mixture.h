// A weighted mixture of data sets, drawn deterministically from the job's seed (Megatron-Core's
// BlendedDataset, with integer arithmetic so that every platform draws the same samples).
//
// Sources k = 0..K-1 hold n_k samples and have weights w_k > 0. The mixture holds
// N = n_0 + ... + n_{K-1} samples (one epoch of the mixture is as long as the sources together;
// the trainer's global order, data/sample_order.h, shuffles those N):
//   1. quotas: source k gives q_k samples, q_k = floor(N * w_k / W) (W = sum of weights), and
//      the samples left over go one each to the largest remainders (ties: lower k), so the q_k
//      add up to N exactly;
//   2. blend: sample i (0..N-1) comes from the source whose share is most behind,
//      argmax_k (q_k * (i+1) - c_k * N) over its draws so far c_k (ties: lower k) — exact int128
//      arithmetic; every prefix of the mixture is as close to the weights as integers allow;
//   3. draw: the c-th draw from source k is its sample perm_{k,p}[c mod n_k], p = c / n_k, where
//      perm_{k,p} is the permutation sampleOrder(mixSeed(seed, "mix", k), p, n_k): a source
//      with q_k < n_k contributes a random subset of its samples, one with q_k > n_k is
//      repeated, in a fresh order each pass.
// The mapping is computed once (12 bytes per sample) and is a pure function of (sizes,
// weights, seed): it does not depend on ranks, threads or timing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace mlcp::data {

// Step 1: the samples each source gives to a mixture of `total` samples.
std::vector<int64_t> mixtureQuotas(const std::vector<double>& weights, int64_t total);

class MixtureDataset : public Dataset {
 public:
  // `limit` > 0 keeps the first `limit` samples of the mixture. The sources' batches must have
  // the same shapes past the first dimension.
  MixtureDataset(std::vector<std::shared_ptr<const Dataset>> sources, std::vector<double> weights,
                 uint64_t seed, int64_t limit, std::string name);

  int64_t size() const override { return static_cast<int64_t>(index_.size()); }
  Batch batch(const std::vector<int64_t>& indices) const override;
  std::string describe() const override;

  // Sample i of the mixture: (source, index of the sample in that source).
  std::pair<int, int64_t> locate(int64_t i) const;
  const std::vector<int64_t>& quotas() const { return quotas_; }

 private:
  std::vector<std::shared_ptr<const Dataset>> sources_;
  std::vector<double> weights_;
  std::vector<int64_t> quotas_;
  std::vector<uint32_t> source_;  // per mixture sample
  std::vector<int64_t> index_;    // per mixture sample: the sample of its source
  std::string name_;
};

}  // namespace mlcp::data
