// Weighted mixtures (data/data_mixture.h): the quotas add up and follow the weights, every
// prefix of the blend stays within one sample of its share, the draws are a pure function of
// (sizes, weights, seed) — the same mapping twice, another one for another seed — a smaller
// source is repeated in fresh orders, a larger one sampled without repeats, and a mixed batch
// holds exactly its sources' rows.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "base/error.h"
#include "data/data_mixture.h"

namespace mlcp::data {
namespace {

// Sample i of source `tag` is the row [tag, i, i] (input) / [i] (target): a batch shows where
// each row came from.
class Labelled : public Dataset {
 public:
  Labelled(int64_t tag, int64_t n) : tag_(tag), n_(n) {}
  int64_t size() const override { return n_; }
  Batch batch(const std::vector<int64_t>& indices) const override {
    auto in = torch::empty({static_cast<int64_t>(indices.size()), 3}, torch::kInt64);
    auto tg = torch::empty({static_cast<int64_t>(indices.size())}, torch::kInt64);
    for (size_t r = 0; r < indices.size(); ++r) {
      in[static_cast<int64_t>(r)][0] = tag_;
      in[static_cast<int64_t>(r)][1] = indices[r];
      in[static_cast<int64_t>(r)][2] = indices[r];
      tg[static_cast<int64_t>(r)] = indices[r];
    }
    return {in, tg};
  }
  std::string describe() const override { return "labelled " + std::to_string(tag_); }

 private:
  int64_t tag_, n_;
};

std::vector<std::shared_ptr<const Dataset>> sources(const std::vector<int64_t>& sizes) {
  std::vector<std::shared_ptr<const Dataset>> out;
  for (size_t k = 0; k < sizes.size(); ++k) {
    out.push_back(std::make_shared<Labelled>(static_cast<int64_t>(k), sizes[k]));
  }
  return out;
}

std::vector<std::pair<int, int64_t>> mapping(const MixtureDataset& m) {
  std::vector<std::pair<int, int64_t>> out;
  for (int64_t i = 0; i < m.size(); ++i) out.push_back(m.locate(i));
  return out;
}

TEST(MixtureQuotas, AddUpAndFollowTheWeights) {
  EXPECT_EQ(mixtureQuotas({1.0}, 17), (std::vector<int64_t>{17}));
  EXPECT_EQ(mixtureQuotas({3.0, 1.0}, 100), (std::vector<int64_t>{75, 25}));
  EXPECT_EQ(mixtureQuotas({1, 1, 1}, 10), (std::vector<int64_t>{4, 3, 3}));  // ties: lower k
  EXPECT_EQ(mixtureQuotas({0.2, 0.3, 0.5}, 0), (std::vector<int64_t>{0, 0, 0}));
  for (int64_t total : {1, 7, 1000, 999983}) {
    const auto q = mixtureQuotas({0.1, 2.5, 0.7, 1e-3}, total);
    int64_t sum = 0;
    for (size_t k = 0; k < q.size(); ++k) {
      const double exact =
          static_cast<double>(total) * std::vector<double>{0.1, 2.5, 0.7, 1e-3}[k] / 3.301;
      EXPECT_LE(std::abs(static_cast<double>(q[k]) - exact), 1.0)
          << "total " << total << " k " << k;
      sum += q[k];
    }
    EXPECT_EQ(sum, total);
  }
  EXPECT_THROW(mixtureQuotas({1.0, 0.0}, 10), InvalidArgument);
  EXPECT_THROW(mixtureQuotas({1.0, -2.0}, 10), InvalidArgument);
}

TEST(Mixture, PrefixesFollowTheWeightsAndQuotasAreMet) {
  const std::vector<double> w = {5.0, 3.0, 2.0};
  const MixtureDataset m(sources({300, 50, 1000}), w, 42, 0, "mix");
  ASSERT_EQ(m.size(), 1350);
  EXPECT_EQ(m.quotas(), (std::vector<int64_t>{675, 405, 270}));
  std::vector<int64_t> drawn(3, 0);
  for (int64_t i = 0; i < m.size(); ++i) {
    ++drawn[static_cast<size_t>(m.locate(i).first)];
    for (size_t k = 0; k < 3; ++k) {
      const double share = static_cast<double>(m.quotas()[k]) * static_cast<double>(i + 1) / 1350;
      ASSERT_LE(std::abs(static_cast<double>(drawn[k]) - share), 1.0)
          << "after " << i + 1 << " samples source " << k << " drew " << drawn[k];
    }
  }
  EXPECT_EQ(drawn, m.quotas());
}

TEST(Mixture, DrawsArePureFunctionsOfTheSeed) {
  const std::vector<double> w = {1.0, 4.0};
  const MixtureDataset a(sources({100, 37}), w, 7, 0, "a");
  const MixtureDataset b(sources({100, 37}), w, 7, 0, "b");
  const MixtureDataset c(sources({100, 37}), w, 8, 0, "c");
  EXPECT_EQ(mapping(a), mapping(b));
  EXPECT_NE(mapping(a), mapping(c));
  // The seed changes which samples are drawn, never how many from each source.
  std::map<int, int64_t> ca, cc;
  for (const auto& [k, j] : mapping(a)) ++ca[k];
  for (const auto& [k, j] : mapping(c)) ++cc[k];
  EXPECT_EQ(ca, cc);
  // A limit keeps a prefix of the same mixture.
  const MixtureDataset limited(sources({100, 37}), w, 7, 50, "limited");
  ASSERT_EQ(limited.size(), 50);
  const auto prefix = mapping(limited), whole = mapping(a);
  ASSERT_LE(prefix.size(), whole.size());
  EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), whole.begin()));
}

TEST(Mixture, RepeatsSmallSourcesAndSubsamplesLargeOnes) {
  // 137 samples: source 0 (100) gives 27, source 1 (37) gives 110: three passes of 37, less 1.
  const MixtureDataset m(sources({100, 37}), {1.0, 4.0}, 7, 0, "m");
  ASSERT_EQ(m.quotas(), (std::vector<int64_t>{27, 110}));
  std::vector<int64_t> small, large;
  for (const auto& [k, j] : mapping(m)) (k == 0 ? large : small).push_back(j);
  // The large source: 27 distinct samples, not simply its first 27.
  EXPECT_EQ(std::set<int64_t>(large.begin(), large.end()).size(), 27u);
  EXPECT_GT(*std::max_element(large.begin(), large.end()), 26);
  // The small one: each pass of 37 is a permutation of all its samples, in a new order.
  std::vector<std::vector<int64_t>> passes;
  for (size_t p = 0; p * 37 < small.size(); ++p) {
    passes.emplace_back(small.begin() + static_cast<int64_t>(p * 37),
                        small.begin() + static_cast<int64_t>(std::min(small.size(), p * 37 + 37)));
  }
  ASSERT_EQ(passes.size(), 3u);
  for (int p = 0; p < 2; ++p) {
    EXPECT_EQ(std::set<int64_t>(passes[p].begin(), passes[p].end()).size(), 37u) << "pass " << p;
  }
  EXPECT_NE(passes[0], passes[1]);
}

TEST(Mixture, BatchHoldsTheSourcesRowsInOrder) {
  const MixtureDataset m(sources({20, 30, 40}), {1.0, 1.0, 2.0}, 3, 0, "m");
  const std::vector<int64_t> idx = {5, 0, 89, 17, 17, 42};
  const auto b = m.batch(idx);
  ASSERT_EQ(b.input.sizes(), (std::vector<int64_t>{6, 3}));
  ASSERT_EQ(b.target.sizes(), (std::vector<int64_t>{6}));
  for (size_t r = 0; r < idx.size(); ++r) {
    const auto [k, j] = m.locate(idx[r]);
    EXPECT_EQ(b.input[static_cast<int64_t>(r)][0].item<int64_t>(), k) << "row " << r;
    EXPECT_EQ(b.input[static_cast<int64_t>(r)][1].item<int64_t>(), j) << "row " << r;
    EXPECT_EQ(b.target[static_cast<int64_t>(r)].item<int64_t>(), j) << "row " << r;
  }
}

}  // namespace
}  // namespace mlcp::data
