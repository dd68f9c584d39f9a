// ExactSum: the same M contributions, dealt to the ranks in different ways, must give the same
// bits as one process summing all of them; the result must be the correctly rounded sum (up to
// the documented 2^-58-relative grid error); a non-finite value must be reported on every rank.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "collectives/exact_sum.h"
#include "collectives/mpi/mpi_communicator.h"

namespace mlcp::collectives {
namespace {

// Segments of very different sizes and magnitudes, including an empty and an all-zero one.
const std::vector<int64_t> kSegments = {5, 0, 1, 1027, 3, 40000};
const std::vector<double> kMagnitudes = {1e-3, 1.0, 7e4, 1.0, 0.0, 3e-8};

// Contribution j: Gaussian values with per-segment magnitude and heavy cancellation.
std::vector<float> contribution(int j) {
  std::mt19937_64 gen(1000 + j);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<float> v;
  for (size_t k = 0; k < kSegments.size(); ++k) {
    for (int64_t i = 0; i < kSegments[k]; ++i) {
      v.push_back(static_cast<float>(kMagnitudes[k] * normal(gen) * (j % 3 == 0 ? 1e3 : 1.0)));
    }
  }
  return v;
}

int64_t total() {
  int64_t t = 0;
  for (int64_t n : kSegments) t += n;
  return t;
}

// Sums the contributions `mine` of `m` in all over `comm`.
std::vector<float> reduceOver(Communicator& comm, const std::vector<int>& mine, int m,
                              double scale, bool* finite = nullptr) {
  std::vector<std::vector<float>> data;
  for (int j : mine) data.push_back(contribution(j));
  std::vector<const float*> ptrs;
  for (auto& d : data) ptrs.push_back(d.data());
  ExactSum sum(comm, kSegments);
  std::vector<float> out(static_cast<size_t>(total()), -1.0f);
  const bool ok = sum.reduce(ptrs, m, scale, out.data());
  if (finite) *finite = ok;
  return out;
}

class ExactSumTest : public testing::Test {
 protected:
  MpiCommunicator world{MPI_COMM_WORLD};
  int p = world.size(), r = world.rank();
  // The reference: one process holding every contribution.
  std::unique_ptr<Communicator> alone = world.split(r, 0);
};

TEST_F(ExactSumTest, SameBitsForEveryDistributionOfContributions) {
  for (int m : {1, 2, 5, 16}) {
    std::vector<int> all(m);
    for (int j = 0; j < m; ++j) all[j] = j;
    const auto reference = reduceOver(*alone, all, m, 1.0 / m);
    // Round-robin, contiguous blocks, and everything on the last rank.
    std::vector<int> round_robin, block, last;
    for (int j = 0; j < m; ++j) {
      if (j % p == r) round_robin.push_back(j);
      if (j * p / m == r) block.push_back(j);
      if (r == p - 1) last.push_back(j);
    }
    for (const auto* mine : {&round_robin, &block, &last}) {
      const auto got = reduceOver(world, *mine, m, 1.0 / m);
      ASSERT_EQ(std::memcmp(got.data(), reference.data(), got.size() * sizeof(float)), 0)
          << "M=" << m << " on " << p << " ranks differs from one process";
    }
  }
}

TEST_F(ExactSumTest, ResultIsTheCorrectlyRoundedSum) {
  const int m = 12;
  std::vector<int> mine;
  for (int j = r; j < m; j += p) mine.push_back(j);
  const auto got = reduceOver(world, mine, m, 1.0);
  std::vector<long double> exact(static_cast<size_t>(total()), 0.0L);
  long double max_abs_contribution = 0;
  for (int j = 0; j < m; ++j) {
    const auto c = contribution(j);
    for (size_t i = 0; i < c.size(); ++i) exact[i] += c[i];
  }
  size_t i = 0;
  int64_t off_by_rounding = 0;
  for (size_t k = 0; k < kSegments.size(); ++k) {
    long double seg_max = 0;
    for (int j = 0; j < m; ++j) {
      const auto c = contribution(j);
      for (int64_t t = 0; t < kSegments[k]; ++t) {
        seg_max = std::max(seg_max, std::fabs(static_cast<long double>(c[i + t])));
      }
    }
    max_abs_contribution = std::max(max_abs_contribution, seg_max);
    for (int64_t t = 0; t < kSegments[k]; ++t, ++i) {
      const float rounded = static_cast<float>(exact[i]);
      if (got[i] != rounded) {
        // Only possible when the exact sum lies within the grid error of a rounding boundary.
        ++off_by_rounding;
        EXPECT_LE(std::fabs(static_cast<long double>(got[i]) - exact[i]),
                  std::fabs(static_cast<long double>(rounded) - exact[i]) + seg_max * 0x1p-48L)
            << "element " << i;
      }
    }
  }
  EXPECT_LE(off_by_rounding, 2) << "more elements than the grid error explains differ";
  EXPECT_GT(max_abs_contribution, 0);
}

TEST_F(ExactSumTest, AllZeroAndEmptySegmentsStayZero) {
  const auto got = reduceOver(world, {r}, p, 1.0);
  // Segment 4 (3 elements) has magnitude 0.
  const int64_t begin = 5 + 0 + 1 + 1027;
  for (int64_t i = begin; i < begin + 3; ++i) EXPECT_EQ(got[i], 0.0f);
}

TEST_F(ExactSumTest, NonFiniteValueIsReportedOnEveryRank) {
  std::vector<float> mine(static_cast<size_t>(total()), 1.0f);
  if (r == p - 1) mine[5 + 1 + 17] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> out(mine.size());
  ExactSum sum(world, kSegments);
  EXPECT_FALSE(sum.reduce({mine.data()}, p, 1.0, out.data()));
  if (r == 0) mine[3] = std::numeric_limits<float>::infinity();
  if (r == p - 1) mine[5 + 1 + 17] = 1.0f;
  EXPECT_FALSE(sum.reduce({mine.data()}, p, 1.0, out.data()));
  if (r == 0) mine[3] = 1.0f;
  EXPECT_TRUE(sum.reduce({mine.data()}, p, 1.0, out.data()));
  for (float v : out) ASSERT_EQ(v, static_cast<float>(p));
}

TEST_F(ExactSumTest, ExponentFollowsTheLargestContribution) {
  // One segment whose largest |x| is 3.0 = 0.75 * 2^2 over M = 4: S = 62 - 2 - 2 = 58.
  std::vector<float> mine(1, r == 0 ? 3.0f : 0.5f);
  float out = 0;
  ExactSum sum(world, {1});
  ASSERT_TRUE(sum.reduce({mine.data()}, std::max(p, 4), 1.0, &out));
  EXPECT_EQ(sum.exponents().at(0), 58);
  EXPECT_EQ(out, 3.0f + 0.5f * (p - 1));
}

}  // namespace
}  // namespace mlcp::collectives
