// Which volunteer contributions a job recomputes on its own ranks (BOINC's adaptive replication,
// made exact): a new key's first `trust_after` units are all recomputed; after that each unit is
// recomputed with probability `rate`, decided by a keyed hash of (key, step, micro-batch) under
// a secret the job draws at start and never sends — a volunteer cannot tell which of its units
// will be checked, so corrupting any one of them is caught with probability `rate`, and
// corrupting k of them with 1 - (1 - rate)^k. One mismatch bans the key (the coordinator's
// rule, runtime/volunteer_coordinator.h).
#pragma once

#include <array>
#include <cstdint>

#include "verify/node_key.h"

namespace mlcp::volunteer {

class AuditPolicy {
 public:
  // rate in (0, 1]; trust_after >= 0. The secret is drawn from libsodium's generator.
  AuditPolicy(double rate, int64_t trust_after);
  // The same with a given secret (tests).
  AuditPolicy(double rate, int64_t trust_after, const std::array<uint8_t, 32>& secret);

  // Whether to recompute unit (step, micro_batch) of `key`, which has had `correct` audited
  // units found correct so far.
  bool audit(const verify::PublicKey& key, int64_t correct, uint64_t step,
             uint64_t micro_batch) const;

  double rate() const { return rate_; }
  int64_t trustAfter() const { return trust_after_; }

  // The probability that at least one of k corrupted units of a trusted key is audited.
  static double catchProbability(double rate, int64_t k);

 private:
  double rate_;
  int64_t trust_after_;
  std::array<uint8_t, 32> secret_{};
};

}  // namespace mlcp::volunteer
