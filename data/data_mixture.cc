#include "data/data_mixture.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/error.h"
#include "data/sample_order.h"

namespace mlcp::data {
namespace {

constexpr uint64_t kMixTag = 0x6D6978ULL;  // "mix": the draws' seeds differ from the epochs'

}  // namespace

std::vector<int64_t> mixtureQuotas(const std::vector<double>& weights, int64_t total) {
  require(!weights.empty() && total >= 0, "a mixture needs sources and a size");
  double sum = 0;
  for (double w : weights) {
    require(std::isfinite(w) && w > 0, "mixture weights must be finite and positive");
    sum += w;
  }
  // IEEE double division and multiplication are correctly rounded: the same quotas everywhere.
  std::vector<int64_t> quota(weights.size());
  std::vector<double> remainder(weights.size());
  int64_t given = 0;
  for (size_t k = 0; k < weights.size(); ++k) {
    const double exact = static_cast<double>(total) * (weights[k] / sum);
    quota[k] = std::min<int64_t>(total, static_cast<int64_t>(std::floor(exact)));
    remainder[k] = exact - static_cast<double>(quota[k]);
    given += quota[k];
  }
  std::vector<size_t> order(weights.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return remainder[a] > remainder[b]; });
  // The floors add up to at most N (each is at most its exact share); what is left, fewer
  // than K samples, goes to the largest remainders.
  require(given <= total, "mixture quotas exceed the mixture");
  for (size_t j = 0; given < total; j = (j + 1) % order.size(), ++given) ++quota[order[j]];
  return quota;
}

MixtureDataset::MixtureDataset(std::vector<std::shared_ptr<const Dataset>> sources,
                               std::vector<double> weights, uint64_t seed, int64_t limit,
                               std::string name)
    : sources_(std::move(sources)), weights_(std::move(weights)), name_(std::move(name)) {
  require(!sources_.empty() && sources_.size() == weights_.size(),
          "a mixture needs one weight per source");
  const size_t k_count = sources_.size();
  std::vector<int64_t> n(k_count);
  int64_t total = 0;
  for (size_t k = 0; k < k_count; ++k) {
    n[k] = sources_[k]->size();
    if (n[k] <= 0) {
      throw UsageError(
          fmt::format("mixture source {} ({}) holds no samples", k, sources_[k]->describe()));
    }
    total += n[k];
  }
  quotas_ = mixtureQuotas(weights_, total);
  const int64_t size = limit > 0 ? std::min(limit, total) : total;
  source_.resize(static_cast<size_t>(size));
  index_.resize(static_cast<size_t>(size));

  std::vector<int64_t> drawn(k_count, 0);
  std::vector<std::vector<int64_t>> perm(k_count);
  std::vector<int64_t> perm_pass(k_count, -1);
  for (int64_t i = 0; i < size; ++i) {
    // Step 2: the source most behind its share after i+1 samples.
    size_t best = 0;
    __int128 best_lag = 0;
    for (size_t k = 0; k < k_count; ++k) {
      const __int128 lag =
          static_cast<__int128>(quotas_[k]) * (i + 1) - static_cast<__int128>(drawn[k]) * total;
      if (k == 0 || lag > best_lag) best = k, best_lag = lag;
    }
    // Step 3: its next draw.
    const int64_t c = drawn[best]++;
    const int64_t pass = c / n[best];
    if (pass != perm_pass[best]) {
      perm[best] = sampleOrder(mixSeed({seed, kMixTag, static_cast<uint64_t>(best)}),
                               static_cast<uint64_t>(pass), n[best]);
      perm_pass[best] = pass;
    }
    source_[static_cast<size_t>(i)] = static_cast<uint32_t>(best);
    index_[static_cast<size_t>(i)] = perm[best][static_cast<size_t>(c % n[best])];
  }
}

std::pair<int, int64_t> MixtureDataset::locate(int64_t i) const {
  require(i >= 0 && i < size(), "mixture sample index out of range");
  return {static_cast<int>(source_[static_cast<size_t>(i)]), index_[static_cast<size_t>(i)]};
}

Batch MixtureDataset::batch(const std::vector<int64_t>& indices) const {
  // One batch per source in the order the rows appear, then each row copied to its place.
  std::vector<std::vector<int64_t>> picks(sources_.size()), rows(sources_.size());
  for (size_t r = 0; r < indices.size(); ++r) {
    const auto [k, j] = locate(indices[r]);
    picks[static_cast<size_t>(k)].push_back(j);
    rows[static_cast<size_t>(k)].push_back(static_cast<int64_t>(r));
  }
  Batch out;
  const auto n = static_cast<int64_t>(indices.size());
  for (size_t k = 0; k < sources_.size(); ++k) {
    if (picks[k].empty()) continue;
    const Batch part = sources_[k]->batch(picks[k]);
    if (!out.input.defined()) {
      auto in_shape = part.input.sizes().vec();
      auto tg_shape = part.target.sizes().vec();
      in_shape[0] = n;
      tg_shape[0] = n;
      out.input = torch::empty(in_shape, part.input.options());
      out.target = torch::empty(tg_shape, part.target.options());
    }
    const auto where = torch::tensor(rows[k], torch::kInt64);
    out.input.index_copy_(0, where, part.input);
    out.target.index_copy_(0, where, part.target);
  }
  return out;
}

std::string MixtureDataset::describe() const {
  std::string parts;
  for (size_t k = 0; k < sources_.size(); ++k) {
    parts += fmt::format("{}{} x{:.3g} ({} of {} samples)", k ? ", " : "", sources_[k]->describe(),
                         weights_[k], quotas_[k], sources_[k]->size());
  }
  return fmt::format("{} (mixture of {} samples: {})", name_, size(), parts);
}

}  // namespace mlcp::data
