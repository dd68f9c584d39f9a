// The bisection game (verify/bisection.h) as data: for every interval length and every place
// the parties start to disagree, it finds that place in at most ceil(log2(length)) rounds,
// and it stays sound when disagreement is not monotone (hashes that agree again later).
#include <gtest/gtest.h>

#include "base/error.h"
#include "verify/bisection.h"

namespace mlcp::verify {
namespace {

Hash256 h(int v) {
  Hash256 x;
  x.bytes[0] = static_cast<uint8_t>(v);
  x.bytes[1] = static_cast<uint8_t>(v >> 8);
  return x;
}

TEST(Bisection, FindsTheFirstDifferenceWithinCeilLog2Rounds) {
  for (int64_t span = 1; span <= 70; ++span) {
    for (int64_t first = 1; first <= span; ++first) {
      // A and B agree on positions < first, disagree from it on.
      const auto r = bisect(0, span, [&](int64_t p) {
        return std::pair{h(static_cast<int>(p)), h(static_cast<int>(p < first ? p : p + 1000))};
      });
      ASSERT_EQ(r.first_difference, first) << "span " << span;
      ASSERT_EQ(r.agreed, first - 1);
      ASSERT_LE(static_cast<int64_t>(r.rounds.size()), maxBisectionRounds(span)) << "span " << span;
      for (const auto& round : r.rounds) ASSERT_EQ(round.agree(), round.position < first);
    }
  }
  EXPECT_EQ(maxBisectionRounds(1), 0);
  EXPECT_EQ(maxBisectionRounds(1024), 10);
  EXPECT_EQ(maxBisectionRounds(1025), 11);
}

TEST(Bisection, EndsAtAnAdjacentAgreedDisagreedPairEvenWhenClaimsReconverge) {
  // Disagreement at 3..5 only, then agreement again, then disagreement at 9 and 10.
  const auto differs = [](int64_t p) { return (p >= 3 && p <= 5) || p >= 9; };
  const auto r = bisect(0, 10, [&](int64_t p) {
    return std::pair{h(static_cast<int>(p)), h(static_cast<int>(differs(p) ? p + 500 : p))};
  });
  EXPECT_FALSE(differs(r.agreed));
  EXPECT_TRUE(differs(r.first_difference));
  EXPECT_EQ(r.first_difference, r.agreed + 1);
}

TEST(Bisection, RefusesAnEmptyInterval) {
  EXPECT_THROW(bisect(4, 4, [](int64_t) { return std::pair{Hash256{}, Hash256{}}; }), Error);
}

}  // namespace
}  // namespace mlcp::verify
