#include "bridge/dispute_player.h"

#include <fmt/format.h>

namespace mlcp::bridge {

std::vector<uint64_t> bisectionPoints(uint64_t lo, uint64_t hi) {
  require(hi > lo, "bisectionPoints needs hi > lo");
  uint64_t width = hi - lo;
  uint64_t parts = std::min<uint64_t>(width, 8);
  std::vector<uint64_t> points;
  for (uint64_t i = 1; i < parts; ++i) points.push_back(lo + width * i / parts);
  return points;
}

DisputePlayer::DisputePlayer(JobsClient& jobs, EthKey key, U256 job_id, DisputeRole role,
                             PartyHashes hashes)
    : jobs_(jobs), key_(std::move(key)), job_id_(job_id), role_(role), hashes_(std::move(hashes)) {}

std::string DisputePlayer::move() {
  if (jobs_.job(job_id_).state != JobState::kDisputed) return "";
  DisputeInfo d = jobs_.dispute(job_id_);
  const bool operators = d.phase == DisputePhase::kOperators;
  auto own = [&](uint64_t position) {
    return operators ? hashes_.operator_hash(d.step, position, d.num_ops)
                     : hashes_.step_hash(d.checkpoint, position);
  };
  Receipt r;
  std::string what;
  if (role_ == DisputeRole::kSolver) {
    if (d.phase == DisputePhase::kOperatorCount) {
      uint64_t steps = jobs_.job(job_id_).steps_per_checkpoint;
      uint64_t step = (d.checkpoint - 1) * steps + d.hi;  // as the contract computes it
      uint32_t n = hashes_.num_ops(step);
      std::vector<Hash32> claims;
      for (uint64_t q : bisectionPoints(0, uint64_t(n) + 1))
        claims.push_back(hashes_.operator_hash(step, q, n));
      r = jobs_.postOperators(key_, job_id_, n, claims);
      what = fmt::format("postOperators step {} numOps {} ({} hashes)", step, n, claims.size());
    } else if ((d.phase == DisputePhase::kSteps || operators) && d.solver_turn) {
      std::vector<Hash32> claims;
      for (uint64_t p : bisectionPoints(d.lo, d.hi)) claims.push_back(own(p));
      r = jobs_.postClaims(key_, job_id_, claims);
      what = fmt::format("postClaims {} [{},{}] ({} hashes)", toString(d.phase), d.lo, d.hi,
                         claims.size());
    } else {
      return "";
    }
  } else {
    if (!((d.phase == DisputePhase::kSteps || operators) && !d.solver_turn)) return "";
    std::vector<Hash32> claims = jobs_.lastClaims(job_id_);
    std::vector<uint64_t> points = bisectionPoints(d.lo, d.hi);
    const size_t parts = points.size() + 1;
    // The first segment whose end this party disputes; its start is agreed (for segment 0 by
    // the game's invariant, otherwise because the previous end was not disputed).
    for (size_t j = 0; j < parts; ++j) {
      uint64_t end = j + 1 < parts ? points[j] : d.hi;
      Hash32 solver_hash = j + 1 < parts ? claims[j] : d.solver_hash_hi;
      Hash32 mine = own(end);
      if (mine != solver_hash) {
        r = jobs_.chooseSegment(key_, job_id_, j, claims, mine);
        what = fmt::format("chooseSegment {} [{},{}] -> segment {} [{},{}]", toString(d.phase),
                           d.lo, d.hi, j, j == 0 ? d.lo : points[j - 1], end);
        break;
      }
    }
    if (what.empty()) {
      throw VerificationError(
          fmt::format("job {}: the challenger agrees with every solver claim in [{},{}], including "
                      "the end it disputed",
                      job_id_.toDecimal(), d.lo, d.hi));
    }
  }
  gas_used_ += r.gas_used;
  fees_ = fees_ + r.fee();
  return what + fmt::format(", gas {}", r.gas_used);
}

}  // namespace mlcp::bridge
