// The exact sum's rounding step: toFixedPoint(x, S) must equal llrint(x * 2^S) bit for bit —
// on random floats of every exponent, on exact ties (half to even), on subnormals and zeros —
// and the bulk (AVX2 where present) sum must equal the scalar function for every tail length
// and number of contributions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "collectives/fixed_point.h"

namespace mlcp::collectives {
namespace {

float fromBits(uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

// The S that ExactSum could pick for a segment whose largest value is x: |x| * 2^S < 2^62.
int largestGrid(float x) {
  int e = 0;
  std::frexp(static_cast<double>(std::fabs(x)), &e);
  return 62 - e;
}

TEST(FixedPoint, MatchesLlrintOnRandomFloatsOfEveryExponent) {
  std::mt19937_64 gen(7);
  int64_t checked = 0;
  for (int i = 0; i < 2000000; ++i) {
    const float x = fromBits(static_cast<uint32_t>(gen()));
    if (!std::isfinite(x) || x == 0.0f) continue;
    const int S = largestGrid(x) - static_cast<int>(gen() % 90);  // also far below the max
    ASSERT_EQ(toFixedPoint(x, S), std::llrint(std::ldexp(static_cast<double>(x), S)))
        << std::hexfloat << x << " S=" << S;
    ++checked;
  }
  EXPECT_GT(checked, 1900000);
}

TEST(FixedPoint, RoundsExactTiesToEven) {
  // x = k + 0.5 for k = 0..99 and negatives: llrint gives the even neighbour.
  for (int k = -100; k < 100; ++k) {
    const float x = static_cast<float>(k) + 0.5f;
    EXPECT_EQ(toFixedPoint(x, 0), std::llrint(static_cast<double>(x))) << x;
  }
  EXPECT_EQ(toFixedPoint(2.5f, 0), 2);
  EXPECT_EQ(toFixedPoint(3.5f, 0), 4);
  EXPECT_EQ(toFixedPoint(-2.5f, 0), -2);
  // Every mantissa of one binade shifted right by 1..24 bits hits ties and near-ties.
  for (int S = -24; S <= 0; ++S) {
    for (uint32_t f = 0; f < 0x800000u; f += 97) {
      const float x = fromBits((127u << 23) | f) * 4096.0f;
      ASSERT_EQ(toFixedPoint(x, S - 12), std::llrint(std::ldexp(static_cast<double>(x), S - 12)))
          << std::hexfloat << x << " S=" << S - 12;
    }
  }
}

TEST(FixedPoint, HandlesZerosAndSubnormals) {
  EXPECT_EQ(toFixedPoint(0.0f, 100), 0);
  EXPECT_EQ(toFixedPoint(-0.0f, 100), 0);
  for (uint32_t f : {1u, 2u, 3u, 0x400000u, 0x7FFFFFu}) {
    for (float x : {fromBits(f), -fromBits(f)}) {
      for (int S : {149, 150, 160, 170, 140}) {
        EXPECT_EQ(toFixedPoint(x, S), std::llrint(std::ldexp(static_cast<double>(x), S)))
            << std::hexfloat << x << " S=" << S;
      }
    }
  }
}

TEST(FixedPoint, BulkSumEqualsScalarForEveryTailLengthAndCount) {
  std::mt19937_64 gen(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int count : {0, 1, 3}) {
    for (int64_t n : {0, 1, 3, 4, 5, 7, 8, 1001}) {
      const int64_t offset = 2;  // the sum reads xs[c][offset + i]
      std::vector<std::vector<float>> x(static_cast<size_t>(count),
                                        std::vector<float>(static_cast<size_t>(n + offset)));
      for (auto& row : x) {
        for (auto& v : row) v = normal(gen) * std::ldexp(1.0f, static_cast<int>(gen() % 40) - 20);
        if (n > 2) row[3] = fromBits(5);  // a subnormal
      }
      std::vector<const float*> xs;
      for (auto& row : x) xs.push_back(row.data());
      const int S = 40;
      std::vector<int64_t> bulk(static_cast<size_t>(n), 123), expect(static_cast<size_t>(n), 0);
      sumToFixedPoint(xs.data(), count, offset, n, S, bulk.data());
      for (int64_t i = 0; i < n; ++i) {
        for (int c = 0; c < count; ++c) expect[static_cast<size_t>(i)] += toFixedPoint(xs[c][offset + i], S);
      }
      EXPECT_EQ(bulk, expect) << "count=" << count << " n=" << n;
    }
  }
}

}  // namespace
}  // namespace mlcp::collectives
