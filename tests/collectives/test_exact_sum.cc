// ExactSum: the same M contributions, dealt to the ranks in different ways, must give the same
// bits as one process summing all of them; the result must be the correctly rounded sum (up to
// the documented 2^-58-relative grid error); a non-finite value must be reported on every rank.
// The segmented interface (a pointer per segment, each its own allocation) must give the bits
// of the flat one and of the documented formula, computed here independently with llrint.
// The streaming interface (add, reduceAdded) must give reduce()'s bits round after round, both
// when its guessed grid holds and when it does not.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "base/error.h"
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
std::vector<float> reduceOver(Communicator& comm, const std::vector<int>& mine, int m, double scale,
                              bool* finite = nullptr) {
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

// Contribution j with every segment in its own allocation (the values of contribution(j)).
std::vector<std::vector<float>> contributionSegments(int j) {
  const auto flat = contribution(j);
  std::vector<std::vector<float>> segments;
  auto at = flat.begin();
  for (int64_t n : kSegments) {
    segments.emplace_back(at, at + n);
    at += n;
  }
  return segments;
}

// Pointers to each segment, null for the empty ones (which the interface allows).
template <class T>
std::vector<T*> pointers(std::vector<std::vector<float>>& segments) {
  std::vector<T*> ptrs;
  for (auto& s : segments) ptrs.push_back(s.empty() ? nullptr : s.data());
  return ptrs;
}

std::vector<float> concatenate(const std::vector<std::vector<float>>& segments) {
  std::vector<float> v;
  for (const auto& s : segments) v.insert(v.end(), s.begin(), s.end());
  return v;
}

// reduceOver through the segmented interface: the contributions' segments and the result's
// are separate allocations. Returns the result concatenated.
std::vector<float> reduceSegmentsOver(Communicator& comm, const std::vector<int>& mine, int m,
                                      double scale, bool* finite = nullptr) {
  std::vector<std::vector<std::vector<float>>> data;
  for (int j : mine) data.push_back(contributionSegments(j));
  std::vector<std::vector<const float*>> ptrs;
  for (auto& d : data) ptrs.push_back(pointers<const float>(d));
  std::vector<std::vector<float>> out;
  for (int64_t n : kSegments) out.emplace_back(static_cast<size_t>(n), -1.0f);
  ExactSum sum(comm, kSegments);
  const bool ok = sum.reduce(ptrs, m, scale, pointers<float>(out));
  if (finite) *finite = ok;
  return concatenate(out);
}

// exact_sum.h steps 3-5 written out for contributions 0..m-1: per segment
// S = 62 - e - ceil(log2 m) (max |x| = f * 2^e), then float(double(sum of llrint(x * 2^S)) *
// 2^-S * scale). `exponents` receives S per segment.
std::vector<float> formula(int m, double scale, std::vector<int>* exponents = nullptr) {
  std::vector<std::vector<float>> all;
  for (int j = 0; j < m; ++j) all.push_back(contribution(j));
  int headroom = 0;
  while ((1 << headroom) < m) ++headroom;
  std::vector<float> y;
  if (exponents) exponents->clear();
  int64_t begin = 0;
  for (int64_t n : kSegments) {
    float max_abs = 0;
    for (const auto& c : all) {
      for (int64_t i = begin; i < begin + n; ++i) max_abs = std::max(max_abs, std::fabs(c[i]));
    }
    int e = 0;
    std::frexp(max_abs, &e);
    const int S = max_abs > 0 ? 62 - e - headroom : 0;
    if (exponents) exponents->push_back(S);
    for (int64_t i = begin; i < begin + n; ++i) {
      int64_t sum = 0;
      for (const auto& c : all) sum += std::llrint(std::ldexp(static_cast<double>(c[i]), S));
      y.push_back(static_cast<float>(static_cast<double>(sum) * (std::ldexp(1.0, -S) * scale)));
    }
    begin += n;
  }
  return y;
}

bool sameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class ExactSumTest : public testing::Test {
 protected:
  MpiCommunicator world{MPI_COMM_WORLD};
  int p = world.size(), r = world.rank();
  // The reference: one process holding every contribution.
  std::unique_ptr<Communicator> alone = world.split(r, 0);
  // This rank's contributions of M dealt round-robin, in contiguous blocks, and all to the last.
  std::vector<std::vector<int>> distributions(int m) const {
    std::vector<int> round_robin, block, last;
    for (int j = 0; j < m; ++j) {
      if (j % p == r) round_robin.push_back(j);
      if (j * p / m == r) block.push_back(j);
      if (r == p - 1) last.push_back(j);
    }
    return {round_robin, block, last};
  }
};

TEST_F(ExactSumTest, SameBitsForEveryDistributionOfContributions) {
  for (int m : {1, 2, 5, 16}) {
    std::vector<int> all(m);
    for (int j = 0; j < m; ++j) all[j] = j;
    const auto reference = reduceOver(*alone, all, m, 1.0 / m);
    for (const auto& mine : distributions(m)) {
      const auto got = reduceOver(world, mine, m, 1.0 / m);
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

TEST_F(ExactSumTest, SegmentedGivesTheFlatBitsAndTheFormula) {
  for (int m : {1, 2, 5, 16}) {
    std::vector<int> exponents;
    const auto expected = formula(m, 1.0 / m, &exponents);
    std::vector<int> all(m);
    for (int j = 0; j < m; ++j) all[j] = j;
    ASSERT_TRUE(sameBits(reduceOver(*alone, all, m, 1.0 / m), expected)) << "M=" << m;
    ASSERT_TRUE(sameBits(reduceSegmentsOver(*alone, all, m, 1.0 / m), expected)) << "M=" << m;
    for (const auto& mine : distributions(m)) {
      bool finite = false;
      ASSERT_TRUE(sameBits(reduceSegmentsOver(world, mine, m, 1.0 / m, &finite), expected))
          << "segmented, M=" << m << " on " << p << " ranks";
      EXPECT_TRUE(finite);
      ASSERT_TRUE(sameBits(reduceOver(world, mine, m, 1.0 / m), expected))
          << "flat, M=" << m << " on " << p << " ranks";
    }
    // The grid the formula used is the one ExactSum reports.
    std::vector<std::vector<std::vector<float>>> data;
    const auto round_robin = distributions(m).front();
    for (int j : round_robin) data.push_back(contributionSegments(j));
    std::vector<std::vector<const float*>> ptrs;
    for (auto& d : data) ptrs.push_back(pointers<const float>(d));
    std::vector<std::vector<float>> out;
    for (int64_t n : kSegments) out.emplace_back(static_cast<size_t>(n));
    ExactSum sum(world, kSegments);
    ASSERT_TRUE(sum.reduce(ptrs, m, 1.0 / m, pointers<float>(out)));
    EXPECT_EQ(sum.exponents(), exponents) << "M=" << m;
  }
}

TEST_F(ExactSumTest, SegmentedResultMayOverwriteAContribution) {
  // out[k] is this rank's first contribution's segment k (the trainer's .grad tensors).
  const int m = 5;  // every rank holds at least one of them for up to 5 ranks
  std::vector<int> mine;
  for (int j = r; j < m; j += p) mine.push_back(j);
  for (Communicator* comm : {static_cast<Communicator*>(&world), alone.get()}) {
    std::vector<int> held = comm == &world ? mine : std::vector<int>{0, 1, 2, 3, 4};
    std::vector<std::vector<std::vector<float>>> data;
    for (int j : held) data.push_back(contributionSegments(j));
    std::vector<std::vector<const float*>> ptrs;
    for (auto& d : data) ptrs.push_back(pointers<const float>(d));
    ExactSum sum(*comm, kSegments);
    ASSERT_TRUE(sum.reduce(ptrs, m, 1.0 / m, pointers<float>(data[0])));
    EXPECT_TRUE(sameBits(concatenate(data[0]), formula(m, 1.0 / m)))
        << (comm == &world ? "over the world" : "on one process");
  }
}

TEST_F(ExactSumTest, EmptySegmentsMayBeNull) {
  // Fewer elements than ranks: some ranks' blocks hold only padding.
  const std::vector<int64_t> segments = {0, 3, 0, 1, 0};
  std::vector<float> a = {static_cast<float>(r + 1), -0.5f * (r + 1), 0x1p-30f * (r + 1)};
  std::vector<float> b = {0.25f};
  std::vector<float> out_a(3, -1.0f), out_b(1, -1.0f);
  ExactSum sum(world, segments);
  ASSERT_TRUE(sum.reduce({{nullptr, a.data(), nullptr, b.data(), nullptr}}, p, 1.0,
                         {nullptr, out_a.data(), nullptr, out_b.data(), nullptr}));
  const float total = static_cast<float>(p * (p + 1) / 2);  // 1 + ... + p, exact
  EXPECT_EQ(out_a, (std::vector<float>{total, -0.5f * total, 0x1p-30f * total}));
  EXPECT_EQ(out_b, std::vector<float>{0.25f * p});
  // Nothing but empty segments, and a rank without contributions.
  ExactSum none(world, {0, 0});
  std::vector<std::vector<const float*>> local;
  if (r == 0) local.push_back({nullptr, nullptr});
  EXPECT_TRUE(none.reduce(local, 1, 1.0, std::vector<float*>{nullptr, nullptr}));
}

TEST_F(ExactSumTest, NonFiniteInSegmentedContributionIsReportedOnEveryRank) {
  std::vector<std::vector<float>> mine;
  for (int64_t n : kSegments) mine.emplace_back(static_cast<size_t>(n), 1.0f);
  std::vector<std::vector<float>> out;
  for (int64_t n : kSegments) out.emplace_back(static_cast<size_t>(n));
  ExactSum sum(world, kSegments);
  auto reduce = [&] {
    return sum.reduce({pointers<const float>(mine)}, p, 1.0, pointers<float>(out));
  };
  if (r == p - 1) mine[5][39999] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(reduce());
  if (r == 0) mine[3][1000] = -std::numeric_limits<float>::infinity();
  if (r == p - 1) mine[5][39999] = 1.0f;
  EXPECT_FALSE(reduce());
  if (r == 0) mine[3][1000] = 1.0f;
  EXPECT_TRUE(reduce());
  for (const auto& s : out) {
    for (float v : s) ASSERT_EQ(v, static_cast<float>(p));
  }
}

TEST_F(ExactSumTest, SegmentedRejectsMissingPointers) {
  // Every rank passes the same wrong arguments, so every rank throws before communicating.
  using Local = std::vector<std::vector<const float*>>;
  using Out = std::vector<float*>;
  std::vector<float> a(3, 1.0f), out(3);
  ExactSum sum(world, {3, 0});
  EXPECT_THROW(sum.reduce(Local{{a.data()}}, p, 1.0, Out{out.data(), nullptr}), InvalidArgument);
  EXPECT_THROW(sum.reduce(Local{{a.data(), nullptr}}, p, 1.0, Out{out.data()}), InvalidArgument);
  EXPECT_THROW(sum.reduce(Local{{nullptr, nullptr}}, p, 1.0, Out{out.data(), nullptr}),
               InvalidArgument);
  EXPECT_THROW(sum.reduce(Local{{a.data(), nullptr}}, p, 1.0, Out{nullptr, nullptr}),
               InvalidArgument);
  EXPECT_TRUE(sum.reduce(Local{{a.data(), nullptr}}, p, 1.0, Out{out.data(), nullptr}));
  EXPECT_EQ(out, std::vector<float>(3, static_cast<float>(p)));
}

TEST_F(ExactSumTest, OneContributionPerRankGivesTheBitsOfOneProcess) {
  // With one contribution on every rank the ring's first step sends float32 values, which the
  // receiver quantises (exact_sum.cc). Segments chosen so that, on 2-4 ranks, a ring block
  // starts inside a segment and runs on into the next ones (the copied path), and another lies
  // inside one segment (the direct path). Also once in place, as the trainer calls it.
  const std::vector<int64_t> segments = {7, 3001, 0, 2, 5003, 11, 1};
  const std::vector<double> magnitudes = {1.0, 1e-4, 0.0, 3e5, 1e-2, 1e-30, 1.0};
  auto make = [&](int j) {
    std::mt19937_64 gen(77 + j);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<std::vector<float>> v;
    for (size_t k = 0; k < segments.size(); ++k) {
      v.emplace_back();
      for (int64_t i = 0; i < segments[k]; ++i) {
        v.back().push_back(static_cast<float>(magnitudes[k] * normal(gen) * (j == 1 ? 1e3 : 1.0)));
      }
    }
    return v;
  };
  std::vector<std::vector<std::vector<float>>> all;
  for (int j = 0; j < p; ++j) all.push_back(make(j));
  auto sumOn = [&](Communicator& comm, std::vector<std::vector<std::vector<float>>>& held,
                   bool in_place) {
    std::vector<std::vector<const float*>> ptrs;
    for (auto& h : held) ptrs.push_back(pointers<const float>(h));
    std::vector<std::vector<float>> out;
    for (int64_t n : segments) out.emplace_back(static_cast<size_t>(n), -1.0f);
    ExactSum sum(comm, segments);
    EXPECT_TRUE(
        sum.reduce(ptrs, p, 1.0 / p, in_place ? pointers<float>(held[0]) : pointers<float>(out)));
    return concatenate(in_place ? held[0] : out);
  };
  auto copy = all;
  const auto reference = sumOn(*alone, copy, false);
  std::vector<std::vector<std::vector<float>>> mine = {all[static_cast<size_t>(r)]};
  EXPECT_TRUE(sameBits(sumOn(world, mine, false), reference)) << p << " ranks";
  EXPECT_TRUE(sameBits(sumOn(world, mine, true), reference)) << p << " ranks, in place";
  // The flat interface: every segment in one buffer, so a block is one contiguous range.
  std::vector<float> flat = concatenate(all[static_cast<size_t>(r)]), out(flat.size(), -1.0f);
  ExactSum sum(world, segments);
  ASSERT_TRUE(sum.reduce({flat.data()}, p, 1.0 / p, out.data()));
  EXPECT_TRUE(sameBits(out, reference)) << p << " ranks, flat";
}

// Round t of a training-like sequence: contribution j of kSegments whose magnitudes drift from
// round to round by the binades in `shift` (segment k moves by shift[(t + k) % size]). Each
// segment's first value is its largest, with the same sign in every contribution (so that a
// grid three places too fine overflows their sum), and in some rounds its last value is 2^-45
// of the magnitude in every contribution (which the guessed grid rounds, visibly in the sum).
std::vector<std::vector<float>> roundContribution(int t, int j, int* drift) {
  static const int shift[] = {0, 0, 1, 0, -1, 0, 0, 2, 0, -1, 0, 0, 3, 0, -2, 0, 0, -3, 1, 0, 0};
  std::mt19937_64 gen(7000 + 100 * t + j);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<std::vector<float>> segments;
  for (size_t k = 0; k < kSegments.size(); ++k) {
    int d = 0;
    for (int u = 0; u <= t; ++u) d += shift[(u + static_cast<int>(k)) % std::size(shift)];
    if (k == 0) *drift = d;
    const double magnitude = std::ldexp(kMagnitudes[k], d) * (t % 9 == 4 && k == 3 ? 0.0 : 1.0);
    std::vector<float> v;
    for (int64_t i = 0; i < kSegments[k]; ++i)
      v.push_back(static_cast<float>(magnitude * normal(gen)));
    if (!v.empty() && magnitude > 0) {
      if (t % 5 == 3)
        v.back() = static_cast<float>(std::ldexp(magnitude, -45) * (1.2345678 + 0.01 * j));
      // Just below the top of a binade, so that five of them overflow 2^63 on that grid.
      v.front() = static_cast<float>(std::ldexp(0.9 + 0.02 * j, std::ilogb(magnitude) + 4));
    }
    segments.push_back(std::move(v));
  }
  return segments;
}

TEST_F(ExactSumTest, StreamingGivesTheBitsOfReduceRoundAfterRound) {
  // Rounds in which the grid stays, moves up or down by one to three places, a segment turns all
  // zero and back, and the guessed grid rounds a value away: reduceAdded() must give reduce()'s
  // bits every time (and report the same grid), on one process and over the world, with the
  // result written over the last contribution in odd rounds.
  const int m = 5;
  for (Communicator* comm : {alone.get(), static_cast<Communicator*>(&world)}) {
    std::vector<int> mine;
    for (int j = 0; j < m; ++j) {
      if (comm == alone.get() || j % p == r) mine.push_back(j);
    }
    ExactSum streaming(*comm, kSegments), plain(*comm, kSegments);
    int guessed_rounds = 0, resummed_rounds = 0;
    for (int t = 0; t < 21; ++t) {
      int drift = 0;
      std::vector<std::vector<std::vector<float>>> data;
      for (int j : mine) data.push_back(roundContribution(t, j, &drift));
      std::vector<std::vector<const float*>> ptrs;
      for (auto& d : data) ptrs.push_back(pointers<const float>(d));
      std::vector<std::vector<float>> expected;
      for (int64_t n : kSegments) expected.emplace_back(static_cast<size_t>(n), -1.0f);
      ASSERT_TRUE(plain.reduce(ptrs, m, 1.0 / m, pointers<float>(expected)));
      // Stream: all but the last added, the last given to reduceAdded().
      std::vector<std::vector<float>> separate;
      for (int64_t n : kSegments) separate.emplace_back(static_cast<size_t>(n), -1.0f);
      const bool in_place = t % 2 == 1 && !data.empty();
      std::vector<const float*> last;
      for (size_t c = 0; c < ptrs.size(); ++c) {
        if (c + 1 < ptrs.size())
          streaming.add(ptrs[c]);
        else
          last = ptrs[c];
      }
      ASSERT_TRUE(streaming.reduceAdded(
          last, m, 1.0 / m, in_place ? pointers<float>(data.back()) : pointers<float>(separate)));
      ASSERT_TRUE(sameBits(concatenate(in_place ? data.back() : separate), concatenate(expected)))
          << "round " << t << (in_place ? " (in place)" : "") << " on " << comm->size() << " ranks";
      EXPECT_EQ(streaming.exponents(), plain.exponents()) << "round " << t;
      if (comm->size() == 1 && t > 0 && streaming.resummedSegments() < 4) ++guessed_rounds;
      if (comm->size() == 1 && t > 0 && streaming.resummedSegments() > 0) ++resummed_rounds;
    }
    if (comm->size() == 1) {
      // Both ways through reduceAdded() were taken: the guessed grid held for most segments in
      // most rounds, and some segments were summed again.
      EXPECT_GE(guessed_rounds, 15);
      EXPECT_GE(resummed_rounds, 5);
    }
  }
}

TEST_F(ExactSumTest, StreamingReportsNonFiniteAndRecovers) {
  std::vector<std::vector<float>> a, b;
  for (int64_t n : kSegments) {
    a.emplace_back(static_cast<size_t>(n), 1.0f);
    b.emplace_back(static_cast<size_t>(n), 2.0f);
  }
  std::vector<std::vector<float>> out;
  for (int64_t n : kSegments) out.emplace_back(static_cast<size_t>(n));
  ExactSum sum(world, kSegments);
  auto round = [&] {
    sum.add(pointers<const float>(a));
    return sum.reduceAdded(pointers<const float>(b), 2 * p, 1.0, pointers<float>(out));
  };
  ASSERT_TRUE(round());
  if (r == p - 1) a[5][123] = std::numeric_limits<float>::infinity();  // in an added one
  EXPECT_FALSE(round());
  if (r == p - 1) a[5][123] = 1.0f;
  if (r == 0) b[0][4] = std::numeric_limits<float>::quiet_NaN();  // in the last one
  EXPECT_FALSE(round());
  if (r == 0) b[0][4] = 2.0f;
  ASSERT_TRUE(round());
  for (size_t k = 0; k < out.size(); ++k) {
    for (float v : out[k]) ASSERT_EQ(v, 3.0f * p) << "segment " << k;
  }
  // Every contribution added and none given last, and a rank with none at all.
  if (r != 0) sum.add(pointers<const float>(a));
  ASSERT_TRUE(sum.reduceAdded({}, p, 1.0, pointers<float>(out)));
  for (size_t k = 0; k < out.size(); ++k) {
    for (float v : out[k]) ASSERT_EQ(v, static_cast<float>(p - 1)) << "segment " << k;
  }
}

}  // namespace
}  // namespace mlcp::collectives
