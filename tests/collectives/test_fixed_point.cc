// The exact sum's rounding step: toFixedPoint(x, S) must equal llrint(x * 2^S) bit for bit —
// on random floats of every exponent, on exact ties (half to even), on subnormals and zeros —
// and the bulk (AVX2 where present) sum must equal the scalar function for every tail length
// and number of contributions, on sweeps of every exponent byte with edge and tie mantissas and
// every S from far below the grid to past it. The conversion back (fromFixedPoint) must equal
// the scalar double/float casts bit for bit, ties above 2^53 included. addToFixedPoint must
// equal the accumulators' old values plus sumToFixedPoint's sums, wrapping past the int64
// limits, on the same sweeps. scanForGrid must find the largest |x| (inf and NaN above every
// finite one) and say exactly whether the grid 2^-S rounds anything: for every exponent byte,
// mantissa edge, sign and S, and wherever in an array (tail included) the one inexact value
// sits. That flag is what lets ExactSum quantise to a guessed grid: where it says exact, every
// finer grid's integers (and their sums) are exactly 2^d times the guessed grid's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>
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
        for (int c = 0; c < count; ++c)
          expect[static_cast<size_t>(i)] += toFixedPoint(xs[c][offset + i], S);
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

// The sweep pool (with inf and NaN) as kRotatedRows contributions: contribution c is the pool
// rotated by c * kRotation, so the lanes of one vector mix floats of different exponents and
// signs from one contribution to the next. `all` points at the rows; `grids` holds every S from
// below the point where every float rounds to 0 (E - 150 + S <= -25 for E <= 255) to where
// every float, subnormals included, shifts left by the clamp's 62, then `extremes`.
constexpr int kRotatedRows = 16;
constexpr int64_t kRotation = 977;
struct RotatedSweep {
  std::vector<float> pool;
  int64_t size = 0;
  std::vector<std::vector<float>> rows;
  std::vector<const float*> all;
  std::vector<int> grids;
};
RotatedSweep rotatedSweep(std::mt19937_64& gen, std::initializer_list<int> extremes) {
  RotatedSweep s;
  s.pool = sweepFloats(gen, /*with_nonfinite=*/true);
  s.size = static_cast<int64_t>(s.pool.size());
  s.rows.assign(kRotatedRows, std::vector<float>(s.pool.size()));
  for (int c = 0; c < kRotatedRows; ++c) {
    for (int64_t i = 0; i < s.size; ++i) {
      s.rows[static_cast<size_t>(c)][static_cast<size_t>(i)] =
          s.pool[static_cast<size_t>((i + c * kRotation) % s.size)];
    }
    s.all.push_back(s.rows[static_cast<size_t>(c)].data());
  }
  for (int S = -140; S <= 215; ++S) s.grids.push_back(S);
  s.grids.insert(s.grids.end(), extremes);
  return s;
}

TEST(FixedPoint, ReportsTheKernel) {
  std::printf("sumToFixedPoint / fromFixedPoint run the %s kernel here\n",
              fixedPointUsesAvx2() ? "AVX2" : "scalar");
}

TEST(FixedPoint, BulkSumEqualsScalarOnEveryExponentMantissaEdgeAndS) {
  std::mt19937_64 gen(2024);
  const RotatedSweep sweep = rotatedSweep(gen, {-100000, -1000, -300, 300, 1000, 100000});
  const std::vector<float>& pool = sweep.pool;
  const int64_t size = sweep.size;
  const std::vector<const float*>& all = sweep.all;
  const std::vector<int>& grids = sweep.grids;
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
          int64_t at = offset + i + c * kRotation;  // < 2 * size
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
        FAIL() << "S=" << S << " count=" << count << " offset=" << offset << " i=" << i << " bits"
               << bits << ": kernel " << bulk[static_cast<size_t>(i)] << ", scalar "
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
        ASSERT_EQ(bulk, referenceSum(xs, 0, n, S))
            << "count=" << count << " n=" << n << " scale=" << scale;
      }
    }
  }
}

// Initial accumulators for addToFixedPoint: random 64-bit values, small ones, and ones within
// 2^40 of INT64_MAX or INT64_MIN, so that adding a contribution wraps both ways.
int64_t randomAccumulator(std::mt19937_64& gen) {
  switch (gen() % 4) {
    case 0:
      return static_cast<int64_t>(gen());
    case 1:
      return static_cast<int64_t>(gen() % 2001) - 1000;
    case 2:
      return std::numeric_limits<int64_t>::max() - static_cast<int64_t>(gen() >> 24);
    default:
      return std::numeric_limits<int64_t>::min() + static_cast<int64_t>(gen() >> 24);
  }
}

int64_t wrappingSum(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

TEST(FixedPoint, AddEqualsInitialPlusSumForEveryTailLengthAndCount) {
  // Counts 1..4 run unrolled kernels and 5, 6 the loop; n = 0..40 covers every tail length
  // behind zero to five eight-float blocks. Half the floats are gradient-like, half random bits
  // of every finite exponent, so each S below both rounds (kernel's right shifts) and shifts
  // left, up to the clamp's 62 places, whose values wrap when summed; S > 150 takes the
  // kernel's shift-only path.
  std::mt19937_64 gen(17);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  int64_t wraps = 0;
  for (int S : {-140, -60, -5, 0, 24, 60, 150, 151, 200, 280}) {
    for (int count = 1; count <= 6; ++count) {
      for (int64_t n = 0; n <= 40; ++n) {
        const int64_t offset = static_cast<int64_t>(gen() % 8);
        std::vector<std::vector<float>> rows(static_cast<size_t>(count));
        std::vector<const float*> xs;
        for (auto& row : rows) {
          row.resize(static_cast<size_t>(offset + n));
          for (auto& v : row) {
            if (gen() % 2 == 0) {
              v = normal(gen) * std::ldexp(1.0f, static_cast<int>(gen() % 40) - 20);
            } else {
              const uint32_t e = static_cast<uint32_t>(gen() % 255);  // 0..254: finite
              v = fromBits((static_cast<uint32_t>(gen()) & 0x807FFFFFu) | (e << 23));
            }
          }
          xs.push_back(row.data());
        }
        // Two guard entries past n must stay as they are.
        std::vector<int64_t> initial(static_cast<size_t>(n + 2));
        for (auto& a : initial) a = randomAccumulator(gen);
        std::vector<int64_t> added = initial;
        addToFixedPoint(xs.data(), count, offset, n, S, added.data());
        std::vector<int64_t> sums(static_cast<size_t>(n), 99);
        sumToFixedPoint(xs.data(), count, offset, n, S, sums.data());
        const std::vector<int64_t> scalar = referenceSum(xs, offset, n, S);
        for (int64_t i = 0; i < n; ++i) {
          const size_t k = static_cast<size_t>(i);
          int64_t unused;
          wraps += __builtin_add_overflow(initial[k], scalar[k], &unused) ? 1 : 0;
          ASSERT_EQ(added[k], wrappingSum(initial[k], scalar[k]))
              << "S=" << S << " count=" << count << " n=" << n << " offset=" << offset << " i=" << i
              << " initial=" << initial[k];
          ASSERT_EQ(added[k], wrappingSum(initial[k], sums[k]))
              << "S=" << S << " count=" << count << " n=" << n << " i=" << i;
        }
        ASSERT_EQ(added[static_cast<size_t>(n)], initial[static_cast<size_t>(n)]) << "n=" << n;
        ASSERT_EQ(added[static_cast<size_t>(n + 1)], initial[static_cast<size_t>(n + 1)]);
        // Folding the contributions in one at a time from zero gives sumToFixedPoint's sums.
        std::vector<int64_t> folded(static_cast<size_t>(n), 0);
        for (int c = 0; c < count; ++c) {
          addToFixedPoint(xs.data() + c, 1, offset, n, S, folded.data());
        }
        ASSERT_EQ(folded, sums) << "S=" << S << " count=" << count << " n=" << n;
      }
    }
  }
  EXPECT_GT(wraps, 1000);  // the initial values near the limits did wrap
}

TEST(FixedPoint, AddEqualsInitialPlusSumOnEveryExponentMantissaEdgeAndS) {
  // The sweep of BulkSumEqualsScalarOnEveryExponentMantissaEdgeAndS, one call per S, added to
  // random accumulators (near the int64 limits included).
  std::mt19937_64 gen(4048);
  const RotatedSweep sweep = rotatedSweep(gen, {-100000, -300, 300, 100000});
  const std::vector<float>& pool = sweep.pool;
  const int64_t size = sweep.size;
  const std::vector<const float*>& all = sweep.all;
  const std::vector<int>& grids = sweep.grids;
  const int counts[] = {1, 2, 3, 4, 5, 16};
  std::vector<int64_t> accumulators(pool.size());  // read from round % 8 on: n <= size - 8
  for (auto& a : accumulators) a = randomAccumulator(gen);
  std::vector<int64_t> q(static_cast<size_t>(size));
  int round = 0;
  for (int S : grids) {
    for (int64_t i = 0; i < size; ++i) {
      q[static_cast<size_t>(i)] = toFixedPoint(pool[static_cast<size_t>(i)], S);
    }
    const int count = counts[round % 6];
    const int64_t offset = (round * 5) % 8;
    const int64_t n = size - 8 - (round * 7) % 13;
    const int64_t* initial = accumulators.data() + round % 8;
    ++round;
    std::vector<int64_t> added(static_cast<size_t>(n));
    std::copy(initial, initial + n, added.begin());
    addToFixedPoint(all.data(), count, offset, n, S, added.data());
    for (int64_t i = 0; i < n; ++i) {
      uint64_t expect = static_cast<uint64_t>(initial[i]);
      for (int c = 0; c < count; ++c) {
        int64_t at = offset + i + c * kRotation;  // < 2 * size
        at -= at >= size ? size : 0;
        expect += static_cast<uint64_t>(q[static_cast<size_t>(at)]);
      }
      if (added[static_cast<size_t>(i)] == static_cast<int64_t>(expect)) continue;
      FAIL() << "S=" << S << " count=" << count << " offset=" << offset << " i=" << i
             << " initial=" << initial[i] << ": added " << added[static_cast<size_t>(i)]
             << ", expected " << static_cast<int64_t>(expect);
    }
  }
}

// Whether x * 2^S is an integer, in doubles: exact for |S| <= 300, where the product of a finite
// float stays a normal double.
bool onGrid(float x, int S) {
  const double y = std::ldexp(static_cast<double>(x), S);
  return y == std::rint(y);
}

uint32_t absBits(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b & 0x7FFFFFFFu;
}

TEST(FixedPoint, QuantizeAndScanIsTheScanAndTheSumInOnePass) {
  // The rotated sweep (inf and NaN included) at every S, replacing and adding (random
  // accumulators near the int64 limits too), at every start offset 0-7 and tail length 0-12:
  // the bits of scanForGrid + sumToFixedPoint / addToFixedPoint, and their GridScan.
  std::mt19937_64 gen(5150);
  const RotatedSweep sweep = rotatedSweep(gen, {-100000, -300, 300, 100000});
  std::vector<int64_t> initial(static_cast<size_t>(sweep.size));
  for (auto& a : initial) a = randomAccumulator(gen);
  int round = 0;
  for (int S : sweep.grids) {
    for (bool add : {false, true}) {
      const float* x = sweep.all[static_cast<size_t>(round % kRotatedRows)] + round % 8;
      const int64_t n = sweep.size - 20 + round % 13;
      ++round;
      std::vector<int64_t> fused(initial.begin(), initial.begin() + n), apart = fused;
      const GridScan got = quantizeAndScan(x, n, S, add, fused.data());
      const GridScan want = scanForGrid(x, n, S);
      if (add)
        addToFixedPoint(&x, 1, 0, n, S, apart.data());
      else
        sumToFixedPoint(&x, 1, 0, n, S, apart.data());
      ASSERT_EQ(fused, apart) << "S=" << S << " add=" << add << " n=" << n;
      ASSERT_EQ(got.max_abs_bits, want.max_abs_bits) << "S=" << S << " add=" << add;
      ASSERT_EQ(got.exact, want.exact) << "S=" << S << " add=" << add;
    }
  }
  // One inexact value, alone among values on the grid, at every position of a 37-float block
  // (the vector loop's lanes and the scalar tail): the fused scan must see it wherever it is.
  for (int S : {-10, 0, 20, 100}) {
    for (int64_t at = 0; at < 37; ++at) {
      const float big = std::ldexp(1.0f, -S + 3);  // on the grid 2^-S
      std::vector<float> v(37, big);
      v[static_cast<size_t>(at)] = std::ldexp(1.5f, -S - 1);  // needs the grid 2^-(S + 2)
      std::vector<int64_t> acc(37);
      const GridScan got = quantizeAndScan(v.data(), 37, S, false, acc.data());
      EXPECT_FALSE(got.exact) << "S=" << S << " at=" << at;
      EXPECT_EQ(got.max_abs_bits, absBits(big)) << "S=" << S << " at=" << at;
    }
  }
}

TEST(FixedPoint, ScanFindsTheLargestMagnitude) {
  const float one = 1.0f;
  for (int S : {-1000, -200, 0, 40, 300, 1000}) {
    const GridScan none = scanForGrid(&one, 0, S);
    EXPECT_EQ(none.max_abs_bits, 0u) << "S=" << S;
    EXPECT_TRUE(none.exact) << "S=" << S;
  }
  const float zeros[] = {-0.0f, 0.0f, -0.0f};
  EXPECT_EQ(scanForGrid(zeros, 3, 0).max_abs_bits, 0u);
  EXPECT_TRUE(scanForGrid(zeros, 3, 0).exact);

  std::mt19937_64 gen(23);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> buffer(1100 + 8);
  for (int trial = 0; trial < 3000; ++trial) {
    const int64_t n = trial % 5 == 4 ? 1000 + static_cast<int64_t>(gen() % 100)
                                     : static_cast<int64_t>(gen() % 130);
    float* x = buffer.data() + gen() % 8;  // unaligned starts
    const int kind = trial % 3;
    for (int64_t i = 0; i < n; ++i) {
      // Kind 0: random bits (inf and NaN now and then); 1 and 2: gradient-like values.
      x[i] = kind == 0 ? fromBits(static_cast<uint32_t>(gen()))
                       : normal(gen) * std::ldexp(1.0f, static_cast<int>(gen() % 20) - 10);
    }
    if (kind == 2 && n > 0) {
      // Kind 2 also has one value far larger, an inf or a NaN, of either sign, anywhere: every
      // lane and the tail count.
      const int64_t at = static_cast<int64_t>(gen() % static_cast<uint64_t>(n));
      const uint32_t sign = static_cast<uint32_t>(gen() & 1) << 31;
      switch (gen() % 3) {
        case 0:
          x[at] = fromBits(sign | 0x5F000000u | (static_cast<uint32_t>(gen()) & 0x7FFFFFu));
          break;
        case 1:
          x[at] = fromBits(sign | 0x7F800000u);
          break;
        default:
          x[at] = fromBits(sign | 0x7F800000u | (1u + static_cast<uint32_t>(gen() % 0x7FFFFFu)));
          break;
      }
    }
    uint32_t want = 0;
    bool nonfinite = false;
    for (int64_t i = 0; i < n; ++i) {
      want = std::max(want, absBits(x[i]));
      nonfinite = nonfinite || !std::isfinite(x[i]);
    }
    const int S = static_cast<int>(gen() % 401) - 100;
    const GridScan got = scanForGrid(x, n, S);
    ASSERT_EQ(got.max_abs_bits, want) << "trial=" << trial << " n=" << n << " S=" << S;
    ASSERT_EQ(got.max_abs_bits >= 0x7F800000u, nonfinite) << "trial=" << trial << " n=" << n;
  }
}

TEST(FixedPoint, ScanExactnessMatchesTheReferenceOnEveryExponentMantissaEdgeAndS) {
  // Every finite exponent byte (0: zero and subnormals), mantissas 0, the
  // lowest k bits set, the bit k alone, only the bits from k up, all ones, and random ones;
  // both signs; every S from -200 (every nonzero float rounds away entirely, beyond
  // scanForGrid's clamp) to 300 (none rounds, beyond the other clamp).
  std::mt19937_64 gen(29);
  std::vector<uint32_t> mantissas = {0, 0x7FFFFF, 0x400001, 0x7FFFFE};
  for (int k = 0; k < 23; ++k) {
    mantissas.push_back((1u << (k + 1)) - 1);           // lowest k + 1 bits
    mantissas.push_back(1u << k);                       // bit k alone
    mantissas.push_back(0x7FFFFFu & ~((1u << k) - 1));  // bits k..22
  }
  for (int r = 0; r < 6; ++r) mantissas.push_back(static_cast<uint32_t>(gen()) & 0x7FFFFFu);
  // Each float alone (n = 1) and, at the S where the grid drops -1..25 of its bits (where
  // the answer turns), as 37 copies: the vector loop's lanes and a tail.
  const int64_t kCopies = 37;
  int64_t exact = 0, inexact = 0;
  for (uint32_t e = 0; e <= 254; ++e) {
    for (uint32_t m : mantissas) {
      for (uint32_t sign : {0u, 0x80000000u}) {
        const float x = fromBits(sign | (e << 23) | m);
        const std::vector<float> copies(kCopies, x);
        for (int S = -200; S <= 300; ++S) {
          const bool want = onGrid(x, S);
          const int dropped = 150 - S - static_cast<int>(std::max(e, 1u));
          const bool turning = dropped >= -1 && dropped <= 25;
          for (int64_t n : {int64_t{1}, turning ? kCopies : int64_t{1}}) {
            const GridScan got = scanForGrid(copies.data(), n, S);
            if (got.exact == want && got.max_abs_bits == absBits(x)) continue;
            FAIL() << std::hexfloat << x << " (bits " << std::hex << (sign | (e << 23) | m)
                   << std::dec << ") n=" << n << " S=" << S << ": exact " << got.exact
                   << ", reference " << want << "; max_abs_bits " << got.max_abs_bits;
          }
          ++(want ? exact : inexact);
        }
      }
    }
  }
  EXPECT_GT(exact, 1000000);
  EXPECT_GT(inexact, 1000000);
}

// x's bits with the mantissa bits that the grid 2^-S rounds away cleared (zero where the grid
// rounds all of them away), so that x * 2^S is an integer.
float onGridOf(uint32_t bits, int S) {
  const int e = std::max(static_cast<int>((bits >> 23) & 0xFFu), 1);
  const int right = 150 - S - e;  // how many of the 24-bit integer's low bits the grid drops
  if (right >= 24) return fromBits(bits & 0x80000000u);
  if (right <= 0) return fromBits(bits);
  return fromBits(bits & ~((1u << right) - 1));
}

TEST(FixedPoint, ScanFindsTheOneInexactValueAnywhere) {
  // Arrays of every length 1..150 (and some past 1000) on the grid 2^-S but for one value,
  // placed first, last, at random, and at random in the tail behind the last multiple of 8,
  // 16 and 32 (what a vector loop of 8, 16 or 32 floats leaves): dropping a lane, a block or
  // the tail loses it. The same array with that value on the grid must scan exact.
  std::mt19937_64 gen(37);
  std::vector<float> buffer(1200 + 8);
  int64_t cases = 0;
  for (int64_t len = 1; len <= 170; ++len) {
    const int64_t n = len <= 150 ? len : 1000 + static_cast<int64_t>(gen() % 200);
    for (int place = 0; place < 6; ++place) {
      int64_t at = 0;
      switch (place) {
        case 0:
          at = 0;
          break;
        case 1:
          at = n - 1;
          break;
        case 2:
          at = static_cast<int64_t>(gen() % static_cast<uint64_t>(n));
          break;
        default: {  // the tail behind the last multiple of 8, 16, 32 (skipped where empty)
          const int64_t block = int64_t{8} << (place - 3);
          const int64_t tail_start = n / block * block;
          if (tail_start == n) continue;
          at = tail_start + static_cast<int64_t>(gen() % static_cast<uint64_t>(n - tail_start));
        }
      }
      // S <= 148, where some float (a subnormal at least) is off the grid.
      const int S = static_cast<int>(gen() % 249) - 100;
      float* x = buffer.data() + gen() % 8;
      // On the grid: exponents from where the grid keeps the hidden bit (or 0) up to 254.
      const int lowest_exact = std::clamp(150 - S - 23, 0, 254);
      for (int64_t i = 0; i < n; ++i) {
        const uint32_t e = static_cast<uint32_t>(lowest_exact) +
                           static_cast<uint32_t>(gen() % static_cast<uint64_t>(255 - lowest_exact));
        x[i] = onGridOf((static_cast<uint32_t>(gen()) & 0x807FFFFFu) | (e << 23), S);
      }
      // Off the grid: an exponent where the grid drops 1..40 bits, and one dropped bit set
      // (any nonzero mantissa where it drops all 24).
      const int right = 1 + static_cast<int>(gen() % 40);
      const int e = std::clamp(150 - S - right, 0, 254);
      const int drops = 150 - S - std::max(e, 1);
      uint32_t m = static_cast<uint32_t>(gen()) & 0x7FFFFFu;
      if (drops < 24) {
        m |= 1u << (gen() % static_cast<uint64_t>(drops));
      } else if (e == 0 && m == 0) {
        m = 1;
      }
      const uint32_t off_bits =
          (static_cast<uint32_t>(gen()) & 0x80000000u) | (static_cast<uint32_t>(e) << 23) | m;
      const float on = x[at];
      x[at] = fromBits(off_bits);
      ASSERT_FALSE(onGrid(x[at], S)) << std::hexfloat << x[at] << " S=" << S;
      uint32_t want_max = 0;
      for (int64_t i = 0; i < n; ++i) want_max = std::max(want_max, absBits(x[i]));
      const GridScan off = scanForGrid(x, n, S);
      ASSERT_FALSE(off.exact) << "n=" << n << " at=" << at << " S=" << S << " value "
                              << std::hexfloat << x[at];
      ASSERT_EQ(off.max_abs_bits, want_max) << "n=" << n << " at=" << at;
      x[at] = on;
      ASSERT_TRUE(onGrid(on, S));
      ASSERT_TRUE(scanForGrid(x, n, S).exact) << "n=" << n << " at=" << at << " S=" << S;
      ++cases;
    }
  }
  EXPECT_GT(cases, 800);
}

// The finest grid needed for x: the least S with x * 2^S an integer (0 for x = 0), from x's
// value alone: x = f * 2^e with f in [0.5, 1) is (f * 2^24) * 2^(e - 24), f * 2^24 an integer.
int finestGrid(float x) {
  if (x == 0.0f) return std::numeric_limits<int>::min();
  int e = 0;
  auto m = static_cast<int64_t>(std::ldexp(std::frexp(static_cast<double>(x), &e), 24));
  int S = 24 - e;
  while (m % 2 == 0) {
    m /= 2;
    --S;
  }
  return S;
}

TEST(FixedPoint, ExactScanMeansFinerGridsScaleByPowersOfTwo) {
  // Why scanForGrid exists (exact_sum.h, streaming): ExactSum folds contributions into sums on
  // a guessed grid G before it knows its grid S, and keeps them where G rounded nothing and
  // G <= S. That rests on: if scanForGrid(x, n, G).exact, then for every d >= 0 (within the
  // range |x| * 2^(G + d) < 2^62) toFixedPoint(x[i], G + d) == toFixedPoint(x[i], G) * 2^d,
  // and so do the sums over contributions and over elements. Checked for d = 0..3 on
  // gradient-like data at grids around the finest one each array needs; and one place coarser
  // than that, where the scan says inexact, d = 1 does differ (a dropped half rounds to even).
  std::mt19937_64 gen(41);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  int64_t exact_cases = 0, inexact_cases = 0;
  for (int trial = 0; trial < 1500; ++trial) {
    const int count = 1 + static_cast<int>(gen() % 4);
    const int64_t n = static_cast<int64_t>(gen() % 70);
    const int scale = static_cast<int>(gen() % 200) - 120;
    std::vector<std::vector<float>> rows(static_cast<size_t>(count),
                                         std::vector<float>(static_cast<size_t>(n)));
    std::vector<const float*> xs;
    float max = 0.0f;
    int finest = std::numeric_limits<int>::min();
    for (auto& row : rows) {
      for (auto& v : row) {
        v = normal(gen) * std::ldexp(1.0f, scale + static_cast<int>(gen() % 8) - 4);
        if (gen() % 8 == 0) v = 0.0f;
        max = std::max(max, std::fabs(v));
        finest = std::max(finest, finestGrid(v));
      }
      xs.push_back(row.data());
    }
    int headroom = 0;
    while ((1 << headroom) < count) ++headroom;
    // The largest grid the sums of x * 2^(G + 3) fit (ExactSum's S is at most this).
    const int top = (max > 0.0f ? largestGrid(max) : 0) - headroom - 3;
    const int finer = finest + static_cast<int>(gen() % 16);
    const int coarser = top - static_cast<int>(gen() % 40);
    // In int64: an all-zero draw has no finest grid (INT_MIN), and INT_MIN - 1 overflows int.
    const int64_t grids[] = {int64_t{finest} - 1, finest, int64_t{finest} + 1, finer, top, coarser};
    for (const int64_t grid : grids) {
      if (grid > top || grid < -300 || grid > 300) continue;
      const int G = static_cast<int>(grid);
      bool want = true;
      for (const float* x : xs) {
        for (int64_t i = 0; i < n; ++i) want = want && onGrid(x[i], G);
      }
      bool exact = true;
      for (const float* x : xs) exact = scanForGrid(x, n, G).exact && exact;
      ASSERT_EQ(exact, want) << "trial=" << trial << " G=" << G;
      std::vector<int64_t> on_g(static_cast<size_t>(n));
      sumToFixedPoint(xs.data(), count, 0, n, G, on_g.data());
      if (!exact) {
        ++inexact_cases;
        if (G != finest - 1) continue;
        bool differs = false;
        for (const float* x : xs) {
          for (int64_t i = 0; i < n; ++i) {
            differs = differs || toFixedPoint(x[i], G + 1) != 2 * toFixedPoint(x[i], G);
          }
        }
        EXPECT_TRUE(differs) << "trial=" << trial << " G=" << G;
        continue;
      }
      ++exact_cases;
      // The totals wrap as the exact sum's int64 words do: sum them as uint64 (defined
      // wrap-around; int64 overflow is undefined behaviour, and UBSan stops on it).
      uint64_t total_g = 0;
      for (int64_t v : on_g) total_g += static_cast<uint64_t>(v);
      for (int d = 0; d <= 3; ++d) {
        const int64_t scale_d = int64_t{1} << d;
        for (const float* x : xs) {
          for (int64_t i = 0; i < n; ++i) {
            ASSERT_EQ(toFixedPoint(x[i], G + d), toFixedPoint(x[i], G) * scale_d)
                << std::hexfloat << x[i] << std::dec << " G=" << G << " d=" << d;
          }
        }
        std::vector<int64_t> on_finer(static_cast<size_t>(n));
        sumToFixedPoint(xs.data(), count, 0, n, G + d, on_finer.data());
        uint64_t total_finer = 0;
        for (size_t i = 0; i < on_finer.size(); ++i) {
          ASSERT_EQ(on_finer[i], on_g[i] * scale_d)
              << "trial=" << trial << " G=" << G << " d=" << d << " i=" << i;
          total_finer += static_cast<uint64_t>(on_finer[i]);
        }
        ASSERT_EQ(total_finer, total_g * static_cast<uint64_t>(scale_d))
            << "trial=" << trial << " G=" << G;
      }
    }
  }
  EXPECT_GT(exact_cases, 2000);
  EXPECT_GT(inexact_cases, 1000);
}

float referenceConversion(int64_t sum, const int64_t* more, int64_t i, double f) {
  const int64_t v =
      more == nullptr
          ? sum
          : static_cast<int64_t>(static_cast<uint64_t>(sum) + static_cast<uint64_t>(more[i]));
  return static_cast<float>(static_cast<double>(v) * f);
}

// int64 values that stress the conversion: 0, +-1, the extremes, every power of two and its
// neighbours, and above 2^53 exact ties between two doubles (bits below the 53 kept ones are
// 100..0) with even and odd kept bits, their neighbours, and random values of every magnitude.
std::vector<int64_t> sweepIntegers(std::mt19937_64& gen) {
  std::vector<int64_t> v = {0,
                            1,
                            -1,
                            std::numeric_limits<int64_t>::max(),
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
      if (r % 2 == 0)
        kept &= ~uint64_t{1};  // even, then odd kept bits
      else
        kept |= 1;
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
  const std::vector<int64_t> v = {
      two53 + 1, two53 + 3, -(two53 + 1), -(two53 + 3), two53 - 1, 0, -5, 7, 1, 2, 3};
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
