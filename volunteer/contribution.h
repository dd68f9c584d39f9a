// What a volunteer's contribution commits to: the hash of its gradient tensors and its ed25519
// signature over (job, step, micro-batch, the state it computed from, hash). The state digest
// (runtime/state_chain.h, sent in the State message and checked by the volunteer) is signed too,
// so a job cannot present a correct computation on other parameters as a wrong one. The coordinator
// checks both before it uses or audits a contribution; the signature makes a wrong result
// attributable to the key that sent it.
//
//   gradient hash = BLAKE2b-256 over the whole gradient tensors in parameter order, each as
//                   u64 LE element count | float32 LE values
//   signed bytes  = "mlcp volunteer v1 contribution" | job id (u16 LE length | bytes) |
//                   step u64 LE | micro-batch u64 LE | state digest (32) | gradient hash (32)
// The tensors of a contribution (runtime/volunteer_coordinator.h) are the micro-batch's gradient
// of every parameter in parameter order, then its loss as one float32: the hash and the
// signature cover the loss too.
// A Contribution sent in several chunks (wire.h) carries the same hash and signature in each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/digest.h"
#include "verify/node_key.h"

namespace mlcp::volunteer {

// Streaming gradient hash: add() each whole tensor in parameter order, then finish().
class GradientHasher {
 public:
  void add(const float* data, size_t count);
  Hash256 finish() { return hash_.finish(); }

 private:
  Blake2b256 hash_;
};

Hash256 gradientHash(const std::vector<std::vector<float>>& tensors);

// The exact bytes a contribution's signature covers.
std::string contributionStatement(const std::string& job_id, uint64_t step, uint64_t micro_batch,
                                  const Hash256& state_digest, const Hash256& gradient_hash);

verify::Signature signContribution(const verify::KeyPair& key, const std::string& job_id,
                                   uint64_t step, uint64_t micro_batch, const Hash256& state_digest,
                                   const Hash256& gradient_hash);

bool verifyContribution(const verify::PublicKey& key, const std::string& job_id, uint64_t step,
                        uint64_t micro_batch, const Hash256& state_digest,
                        const Hash256& gradient_hash, const verify::Signature& signature);

}  // namespace mlcp::volunteer
