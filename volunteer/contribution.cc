#include "volunteer/contribution.h"

#include "base/error.h"
#include "volunteer/wire.h"
#include "volunteer/wire_io.h"

namespace mlcp::volunteer {
namespace {

constexpr char kStatementLabel[] = "mlcp volunteer v1 contribution";

}  // namespace

void GradientHasher::add(const float* data, size_t count) {
  hash_.updateLe64(count);
  hash_.update(data, count * sizeof(float));
}

Hash256 gradientHash(const std::vector<std::vector<float>>& tensors) {
  GradientHasher h;
  for (const auto& t : tensors) h.add(t.data(), t.size());
  return h.finish();
}

std::string contributionStatement(const std::string& job_id, uint64_t step, uint64_t micro_batch,
                                  const Hash256& state_digest, const Hash256& gradient_hash) {
  require(job_id.size() <= kMaxJobIdBytes, "contributionStatement: job id too long");
  Buffer b;
  WireWriter w(b);
  w.put(kStatementLabel, sizeof(kStatementLabel) - 1);
  w.shortString(job_id);
  w.u64(step);
  w.u64(micro_batch);
  w.fixed(state_digest.bytes);
  w.fixed(gradient_hash.bytes);
  return std::string(b.begin(), b.end());
}

verify::Signature signContribution(const verify::KeyPair& key, const std::string& job_id,
                                   uint64_t step, uint64_t micro_batch, const Hash256& state_digest,
                                   const Hash256& gradient_hash) {
  return key.sign(contributionStatement(job_id, step, micro_batch, state_digest, gradient_hash));
}

bool verifyContribution(const verify::PublicKey& key, const std::string& job_id, uint64_t step,
                        uint64_t micro_batch, const Hash256& state_digest,
                        const Hash256& gradient_hash, const verify::Signature& signature) {
  if (job_id.size() > kMaxJobIdBytes) return false;
  return verify::verifySignature(
      key, contributionStatement(job_id, step, micro_batch, state_digest, gradient_hash),
      signature);
}

}  // namespace mlcp::volunteer
