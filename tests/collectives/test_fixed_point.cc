// The exact sum's rounding step: toFixedPoint(x, S) must equal llrint(x * 2^S) bit for bit —
// on random floats of every exponent, on exact ties (half to even), on subnormals and zeros —
// and the bulk (AVX2 where present) sum must equal the scalar function for every tail length
// and number of contributions, on sweeps of every exponent byte with edge and tie mantissas and
// every S from far below the grid to past it. The conversion back (fromFixedPoint) must equal
// the scalar double/float casts bit for bit, ties above 2^53 included.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
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

// Floats with every exponent byte (0..255: subnormals, zeros, normals, inf/NaN bit patterns,
// which the kernel quantises with the same formula) and both signs, each with the mantissas that
// matter: 0, 1, 2, 3, all ones, the top bit alone; for every dropped-bit count k = 1..24 the
// exact tie (bit k-1 set, below it zero) with bit k even and odd, one below and one above the
// tie; and random ones.
std::vector<float> sweepFloats(std::mt19937_64& gen, bool with_nonfinite) {
  std::vector<uint32_t> mantissas = {0, 1, 2, 3, 0x7FFFFF, 0x400000, 0x7FFFFE, 0x400001};
  for (int k = 1; k <= 24; ++k) {
    for (uint32_t above : {0u, 1u, 0x5A5u}) {
      const uint64_t tie = (uint64_t{above} << k) | (uint64_t{1} << (k - 1));
      for (uint64_t t : {tie, tie - 1, tie + 1}) {
        mantissas.push_back(static_cast<uint32_t>(t) & 0x7FFFFFu);
      }
    }
  }
  for (int r = 0; r < 8; ++r) mantissas.push_back(static_cast<uint32_t>(gen()) & 0x7FFFFFu);
  std::vector<float> out;
  for (uint32_t e = 0; e <= (with_nonfinite ? 255u : 254u); ++e) {
    for (uint32_t m : mantissas) {
      for (uint32_t sign : {0u, 1u}) out.push_back(fromBits((sign << 31) | (e << 23) | m));
    }
  }
  std::shuffle(out.begin(), out.end(), gen);
  return out;
}

// sum over c of toFixedPoint(xs[c][offset + i], S), wrapping as the kernel does.
std::vector<int64_t> referenceSum(const std::vector<const float*>& xs, int64_t offset, int64_t n,
                                  int S) {
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    uint64_t sum = 0;
    for (const float* x : xs) sum += static_cast<uint64_t>(toFixedPoint(x[offset + i], S));
    out[static_cast<size_t>(i)] = static_cast<int64_t>(sum);
  }
  return out;
}

TEST(FixedPoint, ReportsTheKernel) {
  std::printf("sumToFixedPoint / fromFixedPoint run the %s kernel here\n",
              fixedPointUsesAvx2() ? "AVX2" : "scalar");
}

TEST(FixedPoint, BulkSumEqualsScalarOnEveryExponentMantissaEdgeAndS) {
  std::mt19937_64 gen(2024);
  const std::vector<float> pool = sweepFloats(gen, /*with_nonfinite=*/true);
  const int64_t size = static_cast<int64_t>(pool.size());
  // Contribution c is the pool rotated by c * 977, so the lanes of one vector mix floats of
  // different exponents and signs from one contribution to the next.
  const int kMaxCount = 16;
  std::vector<std::vector<float>> rows(kMaxCount);
  std::vector<const float*> all;
  for (int c = 0; c < kMaxCount; ++c) {
    auto& row = rows[static_cast<size_t>(c)];
    row.resize(pool.size());
    for (int64_t i = 0; i < size; ++i) {
      row[static_cast<size_t>(i)] = pool[static_cast<size_t>((i + c * 977) % size)];
    }
    all.push_back(row.data());
  }
  // S from below the point where every float rounds to 0 (E - 150 + S <= -25 for E <= 255)
  // to where every float, subnormals included, shifts left by the clamp's 62; and extremes.
  std::vector<int> grids;
  for (int S = -140; S <= 215; ++S) grids.push_back(S);
  for (int S : {-100000, -1000, -300, 300, 1000, 100000}) grids.push_back(S);
  const int counts[] = {1, 2, 3, 4, 5, 16};
  std::vector<int64_t> q(static_cast<size_t>(size));
  int round = 0;
  for (int S : grids) {
    for (int64_t i = 0; i < size; ++i) {
      q[static_cast<size_t>(i)] = toFixedPoint(pool[static_cast<size_t>(i)], S);
    }
    // Two calls per S: two counts, offsets 0..7 (unaligned starts), n mostly not a multiple of 8.
    for (int call = 0; call < 2; ++call, ++round) {
      const int count = counts[round % 6];
      const int64_t offset = round % 8;
      const int64_t n = size - 8 - (round * 3) % 13;
      std::vector<int64_t> bulk(static_cast<size_t>(n), 0x5555);
      sumToFixedPoint(all.data(), count, offset, n, S, bulk.data());
      for (int64_t i = 0; i < n; ++i) {
        uint64_t expect = 0;  // sum over c of toFixedPoint(rows[c][offset + i], S), wrapping
        for (int c = 0; c < count; ++c) {
          int64_t at = offset + i + c * 977;  // < 2 * size
          at -= at >= size ? size : 0;
          expect += static_cast<uint64_t>(q[static_cast<size_t>(at)]);
        }
        if (bulk[static_cast<size_t>(i)] == static_cast<int64_t>(expect)) continue;
        std::string bits;
        for (int c = 0; c < count; ++c) {
          uint32_t b;
          std::memcpy(&b, &all[static_cast<size_t>(c)][offset + i], sizeof b);
          char buf[16];
          std::snprintf(buf, sizeof buf, " %08x", b);
          bits += buf;
        }
        FAIL() << "S=" << S << " count=" << count << " offset=" << offset << " i=" << i
               << " bits" << bits << ": kernel " << bulk[static_cast<size_t>(i)] << ", scalar "
               << static_cast<int64_t>(expect);
      }
    }
  }
}

TEST(FixedPoint, BulkQuantisationEqualsLlrintWithinTheGrid) {
  // One contribution: the kernel's value itself against llrint(x * 2^S) wherever
  // |x| * 2^S < 2^62 (the range ExactSum uses; 0 where it rounds to 0), every exponent and S.
  std::mt19937_64 gen(99);
  const std::vector<float> pool = sweepFloats(gen, /*with_nonfinite=*/false);
  const int64_t n = static_cast<int64_t>(pool.size()) - 3;
  const float* xs[] = {pool.data()};
  std::vector<int64_t> got(static_cast<size_t>(n));
  for (int S = -140; S <= 215; ++S) {
    sumToFixedPoint(xs, 1, 1, n, S, got.data());
    for (int64_t i = 0; i < n; ++i) {
      const double y = std::ldexp(static_cast<double>(pool[static_cast<size_t>(i + 1)]), S);
      if (std::fabs(y) >= 0x1p62) continue;
      ASSERT_EQ(got[static_cast<size_t>(i)], std::llrint(y))
          << std::hexfloat << pool[static_cast<size_t>(i + 1)] << " S=" << S;
    }
  }
}

TEST(FixedPoint, BulkSumOfRandomGradientsAtExactSumsGrid) {
  // Gradient-like data at the S ExactSum picks for it (62 - e - ceil(log2 M)), many
  // contributions of different magnitudes, and every tail length 0..17.
  std::mt19937_64 gen(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int count : {1, 2, 3, 4, 5, 16}) {
    for (int64_t n = 0; n <= 17; ++n) {
      for (int scale : {-140, -30, -10, 0, 20, 100}) {
        std::vector<std::vector<float>> rows(static_cast<size_t>(count));
        std::vector<const float*> xs;
        float max = 0.0f;
        for (auto& row : rows) {
          row.resize(static_cast<size_t>(n));
          for (auto& v : row) {
            v = normal(gen) * std::ldexp(1.0f, scale + static_cast<int>(gen() % 12) - 6);
            max = std::max(max, std::fabs(v));
          }
          xs.push_back(row.data());
        }
        int headroom = 0;
        while ((1 << headroom) < count) ++headroom;
        const int S = (max > 0.0f ? largestGrid(max) : 0) - headroom;
        std::vector<int64_t> bulk(static_cast<size_t>(n), -7);
        sumToFixedPoint(xs.data(), count, 0, n, S, bulk.data());
        ASSERT_EQ(bulk, referenceSum(xs, 0, n, S)) << "count=" << count << " n=" << n
                                                   << " scale=" << scale;
      }
    }
  }
}

float referenceConversion(int64_t sum, const int64_t* more, int64_t i, double f) {
  const int64_t v = more == nullptr
                        ? sum
                        : static_cast<int64_t>(static_cast<uint64_t>(sum) +
                                               static_cast<uint64_t>(more[i]));
  return static_cast<float>(static_cast<double>(v) * f);
}

// int64 values that stress the conversion: 0, +-1, the extremes, every power of two and its
// neighbours, and above 2^53 exact ties between two doubles (bits below the 53 kept ones are
// 100..0) with even and odd kept bits, their neighbours, and random values of every magnitude.
std::vector<int64_t> sweepIntegers(std::mt19937_64& gen) {
  std::vector<int64_t> v = {0, 1, -1, std::numeric_limits<int64_t>::max(),
                            std::numeric_limits<int64_t>::min(),
                            std::numeric_limits<int64_t>::min() + 1};
  for (int k = 0; k < 63; ++k) {
    const int64_t p = int64_t{1} << k;
    for (int64_t x : {p, p - 1, p + 1}) {
      v.push_back(x);
      v.push_back(-x);
    }
  }
  for (int top = 54; top <= 63; ++top) {  // |x| in [2^(top-1), 2^top): drop top - 53 bits
    const int drop = top - 53;
    for (int r = 0; r < 40; ++r) {
      uint64_t kept = (uint64_t{1} << 52) | (gen() & ((uint64_t{1} << 52) - 1));
      if (r % 2 == 0) kept &= ~uint64_t{1};  // even, then odd kept bits
      else kept |= 1;
      const uint64_t tie = (kept << drop) | (uint64_t{1} << (drop - 1));
      for (uint64_t x : {tie, tie - 1, tie + 1, kept << drop}) {
        if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) continue;
        v.push_back(static_cast<int64_t>(x));
        v.push_back(-static_cast<int64_t>(x));
      }
    }
  }
  for (int r = 0; r < 4000; ++r) {
    const int bits = static_cast<int>(gen() % 64);
    v.push_back(static_cast<int64_t>(gen() >> (63 - bits)) * ((gen() & 1) ? 1 : -1));
  }
  std::shuffle(v.begin(), v.end(), gen);
  return v;
}

TEST(FixedPoint, ConversionEqualsTheScalarCastsBitForBit) {
  std::mt19937_64 gen(31);
  const std::vector<int64_t> sums = sweepIntegers(gen);
  std::vector<int64_t> more = sweepIntegers(gen);
  more.resize(sums.size());
  // Halve `more` so that sums + more rarely wraps, except on a few entries that test it does.
  for (size_t i = 8; i < more.size(); ++i) more[i] /= 2;
  const int64_t size = static_cast<int64_t>(sums.size());
  int round = 0;
  for (double scale : {1.0, 0.25, 1.0 / 3.0, 0.1, 1.0 / 7.0, 1.0 / 16.0, 3.0}) {
    for (int S = -80; S <= 215; S += 3) {
      const double f = std::ldexp(1.0, -S) * scale;
      const int64_t offset = round % 5, n = size - offset - (round % 11);
      ++round;
      const int64_t* none = nullptr;
      const int64_t* shifted = more.data() + offset;
      for (const int64_t* m : {none, shifted}) {
        std::vector<float> got(static_cast<size_t>(n), -1.0f);
        fromFixedPoint(sums.data() + offset, m, n, f, got.data());
        for (int64_t i = 0; i < n; ++i) {
          const float want = referenceConversion(sums[static_cast<size_t>(offset + i)], m, i, f);
          uint32_t a, b;
          std::memcpy(&a, &got[static_cast<size_t>(i)], sizeof a);
          std::memcpy(&b, &want, sizeof b);
          ASSERT_EQ(a, b) << "v=" << sums[static_cast<size_t>(offset + i)]
                          << (m != nullptr ? " + more" : "") << " f=" << std::hexfloat << f;
        }
      }
    }
  }
}

TEST(FixedPoint, ConversionOfIntegersRoundsLikeTheCast) {
  // f = 1: the float of the double of v, and ties above 2^53 visibly to even.
  const int64_t two53 = int64_t{1} << 53;
  const std::vector<int64_t> v = {two53 + 1, two53 + 3, -(two53 + 1), -(two53 + 3), two53 - 1,
                                  0, -5, 7, 1, 2, 3};
  std::vector<float> got(v.size());
  fromFixedPoint(v.data(), nullptr, static_cast<int64_t>(v.size()), 1.0, got.data());
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(got[i], static_cast<float>(static_cast<double>(v[i]))) << v[i];
  }
  // Through double: 2^53 + 1 is a tie and goes to 2^53 (even), 2^53 + 3 to 2^53 + 4.
  std::vector<int64_t> ties = {two53 + 1, two53 + 3, -(two53 + 3), 0, 0, 0, 0, 0, 0};
  std::vector<float> scaled(ties.size());
  fromFixedPoint(ties.data(), nullptr, static_cast<int64_t>(ties.size()), 0x1p-53, scaled.data());
  EXPECT_EQ(scaled[0], 1.0f);
  EXPECT_EQ(scaled[1], static_cast<float>(1.0 + 0x1p-51));
  EXPECT_EQ(scaled[2], static_cast<float>(-(1.0 + 0x1p-51)));
}

}  // namespace
}  // namespace mlcp::collectives
