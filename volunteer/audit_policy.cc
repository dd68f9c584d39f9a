#include "volunteer/audit_policy.h"

#include <sodium.h>

#include <cmath>
#include <cstring>

#include "base/error.h"

namespace mlcp::volunteer {

AuditPolicy::AuditPolicy(double rate, int64_t trust_after)
    : rate_(rate), trust_after_(trust_after) {
  if (sodium_init() < 0) throw Error("libsodium could not be initialised");
  randombytes_buf(secret_.data(), secret_.size());
  if (!(rate > 0 && rate <= 1) || trust_after < 0) {
    throw InvalidArgument("AuditPolicy: rate must be in (0, 1] and trust_after >= 0");
  }
}

AuditPolicy::AuditPolicy(double rate, int64_t trust_after, const std::array<uint8_t, 32>& secret)
    : rate_(rate), trust_after_(trust_after), secret_(secret) {
  if (!(rate > 0 && rate <= 1) || trust_after < 0) {
    throw InvalidArgument("AuditPolicy: rate must be in (0, 1] and trust_after >= 0");
  }
}

bool AuditPolicy::audit(const verify::PublicKey& key, int64_t correct, uint64_t step,
                        uint64_t micro_batch) const {
  if (correct < trust_after_ || rate_ >= 1) return true;
  // BLAKE2b keyed with the secret over key | step | micro-batch (little-endian): a uniform
  // 64-bit draw the volunteer cannot compute.
  uint8_t input[32 + 16];
  std::memcpy(input, key.data(), 32);
  for (int b = 0; b < 8; ++b) {
    input[32 + b] = static_cast<uint8_t>(step >> (8 * b));
    input[40 + b] = static_cast<uint8_t>(micro_batch >> (8 * b));
  }
  uint8_t out[8];
  crypto_generichash(out, sizeof out, input, sizeof input, secret_.data(), secret_.size());
  uint64_t draw = 0;
  for (int b = 0; b < 8; ++b) draw |= static_cast<uint64_t>(out[b]) << (8 * b);
  // draw / 2^64 < rate, without rounding rate * 2^64 past the top.
  return static_cast<double>(draw >> 11) < rate_ * 9007199254740992.0;  // 2^53
}

double AuditPolicy::catchProbability(double rate, int64_t k) {
  return 1.0 - std::pow(1.0 - rate, static_cast<double>(k));
}

}  // namespace mlcp::volunteer
