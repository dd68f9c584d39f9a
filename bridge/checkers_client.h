// CheckersClient: MlcpCheckers (bridge/contracts/MlcpCheckers.sol), the verifiers' side of an
// MlcpMarket (MarketClient::checkersAddress()), as typed C++ calls: verifier slots with a deposit
// and a secret sample, committed then revealed verdicts, and the verifiers' pull payments.
// The commitments themselves are computed by market_randomness.h.
#pragma once

#include <string>
#include <vector>

#include "bridge/chain_client.h"
#include "bridge/jobs_client.h"

namespace mlcp::bridge {

enum class VerifierStatus : uint8_t { kNone, kOpen, kRegistered, kAnchored, kCommitted, kRevealed };
const char* toString(VerifierStatus s);

struct TaskChecks {  // taskChecks(task)
  U256 group;
  uint32_t n = 0;  // checkpoints of the task
  uint32_t verifiers = 0, max_verifiers = 0, samples_per_verifier = 0;
  U256 jackpot, verifier_fee, verifier_deposit;
};

struct VerifierSlot {  // verifiers(task, slot)
  Address account{};
  uint64_t registered_block = 0;
  VerifierStatus status = VerifierStatus::kNone;
  uint8_t flags = 0;
  Hash32 transcript{};
};

class CheckersClient {
 public:
  CheckersClient(ChainClient& chain, const Address& checkers);

  const Address& address() const { return checkers_; }
  void setSender(TxSender sender) { sender_ = std::move(sender); }

  // Views.
  TaskChecks taskChecks(const U256& task_id);
  VerifierSlot verifier(const U256& task_id, uint64_t slot);
  uint64_t flagCount(const U256& task_id, uint64_t checkpoint);
  U256 owed(const Address& account);
  std::vector<uint64_t> sampleOf(const Hash32& sample_seed, uint64_t n, uint64_t m);
  // The slot `account` holds in the task, or -1.
  int64_t slotOf(const U256& task_id, const Address& account);

  // Moves. registerVerifier posts the task's deposit and returns the slot (VerifierRegistered).
  uint64_t registerVerifier(const EthKey& verifier, const U256& task_id,
                            const Hash32& sample_commitment, Receipt* receipt = nullptr);
  Receipt anchorSample(const EthKey& sender, const U256& task_id, uint64_t slot);
  Receipt commitVerdicts(const EthKey& verifier, const U256& task_id, uint64_t slot,
                         const Hash32& verdicts_commitment);
  Receipt revealVerdicts(const EthKey& sender, const U256& task_id, uint64_t slot,
                         const Hash32& secret, const Hash32& anchor, uint8_t flags);
  Receipt withdraw(const EthKey& account);

 private:
  Receipt send(const EthKey& key, const std::string& fn, const std::vector<abi::Value>& args,
               const U256& value = U256(0));
  std::vector<abi::Value> view(const std::string& fn, const std::vector<abi::Value>& args);

  ChainClient& chain_;
  Address checkers_;
  TxSender sender_;
};

}  // namespace mlcp::bridge
