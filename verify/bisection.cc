#include "verify/bisection.h"

#include <string>

#include "base/error.h"

namespace mlcp::verify {

BisectionResult bisect(int64_t lo, int64_t hi, const ClaimSource& claims) {
  if (lo >= hi) {
    throw InvalidArgument("bisection needs an interval: lo (" + std::to_string(lo) +
                          ") must be below hi (" + std::to_string(hi) + ")");
  }
  BisectionResult r;
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    auto [a, b] = claims(mid);
    r.rounds.push_back({mid, a, b});
    if (a == b) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  r.agreed = lo;
  r.first_difference = hi;
  return r;
}

int64_t maxBisectionRounds(int64_t span) {
  int64_t rounds = 0;
  while ((int64_t{1} << rounds) < span) ++rounds;
  return rounds;
}

}  // namespace mlcp::verify
