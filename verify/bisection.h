// The bisection game of the dispute protocol, as plain data and one pure function.
//
// Two parties have committed to a hash at every position of an interval [lo, hi] (checkpoint
// roots, per-step state hashes, operator prefix hashes). They agree at lo and disagree at hi.
// Each round asks both for their hash at the midpoint: agreement moves lo there, disagreement
// moves hi there. The invariant "agree at lo, disagree at hi" holds throughout, so when hi is
// lo + 1, position hi is where one party's computation from an agreed input went wrong. That
// takes at most ceil(log2(hi - lo)) rounds, and each round is two hashes: a small message that
// can travel on chain (issue #5).
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "verify/hash.h"

namespace mlcp::verify {

struct BisectionRound {
  int64_t position = 0;
  Hash256 claim_a, claim_b;
  bool agree() const { return claim_a == claim_b; }
};

struct BisectionResult {
  int64_t agreed = 0;            // the last position both agree on (lo at the end)
  int64_t first_difference = 0;  // agreed + 1
  std::vector<BisectionRound> rounds;
};

// Both parties' claims at a position.
using ClaimSource = std::function<std::pair<Hash256, Hash256>(int64_t position)>;

// Plays the game on [lo, hi] (lo < hi; the caller has established agreement at lo and
// disagreement at hi). Throws InvalidArgument when lo >= hi.
BisectionResult bisect(int64_t lo, int64_t hi, const ClaimSource& claims);

// ceil(log2(span)): the most rounds bisect() plays on an interval of that length (0 for 1).
int64_t maxBisectionRounds(int64_t span);

}  // namespace mlcp::verify
