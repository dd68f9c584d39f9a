// The exact sum's rounding step: toFixedPoint(x, S) must equal llrint(x * 2^S) bit for bit —
// on random floats of every exponent, on exact ties (half to even), on subnormals and zeros —
// and the bulk (AVX2 where present) kernel must equal the scalar function, plain and
// accumulating, for every tail length.
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

TEST(FixedPoint, BulkKernelEqualsScalarForEveryTailLength) {
  std::mt19937_64 gen(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t n : {0, 1, 3, 4, 5, 7, 8, 1001}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = normal(gen) * std::ldexp(1.0f, static_cast<int>(gen() % 40) - 20);
    if (n > 2) x[1] = fromBits(5);  // a subnormal
    const int S = 40;
    std::vector<int64_t> bulk(x.size(), 123), expect(x.size());
    toFixedPoint(x.data(), n, S, bulk.data(), /*accumulate=*/false);
    for (size_t i = 0; i < x.size(); ++i) expect[i] = toFixedPoint(x[i], S);
    EXPECT_EQ(bulk, expect) << "n=" << n;
    toFixedPoint(x.data(), n, S, bulk.data(), /*accumulate=*/true);
    for (auto& v : expect) v *= 2;
    EXPECT_EQ(bulk, expect) << "accumulating, n=" << n;
  }
}

}  // namespace
}  // namespace mlcp::collectives
