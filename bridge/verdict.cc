#include "bridge/verdict.h"

#include <fmt/format.h>

#include <set>

#include "base/error.h"
#include "bridge/abi.h"
#include "bridge/keccak.h"

namespace mlcp::bridge {

Hash32 verdictTag() { return keccak256("mlcp.verdict.v1"); }

Hash32 verdictMessage(const Verdict& v) {
  using abi::Type;
  using abi::Value;
  static const std::vector<Type> kTypes = {Type::parse("bytes32"), Type::parse("uint256"),
                                           Type::parse("address"), Type::parse("uint256"),
                                           Type::parse("uint256"), Type::parse("bool")};
  return keccak256(abi::encode(
      kTypes,
      {Value::fixedBytes(verdictTag()), Value::uint(U256(v.chain_id)), Value::address(v.contract),
       Value::uint(v.job_id), Value::uint(v.dispute_id), Value::boolean(v.solver_correct)}));
}

Hash32 verdictDigest(const Verdict& v) { return personalSignDigest(verdictMessage(v)); }

SignedVerdict signVerdict(const Verdict& v, const EthKey& referee) {
  return {v, referee.sign(verdictDigest(v)), referee.address()};
}

nlohmann::json SignedVerdict::toJson() const {
  const auto rsv = signature.toRsv();
  return {{"chain_id", verdict.chain_id},
          {"contract", checksumAddress(verdict.contract)},
          {"job_id", verdict.job_id.toDecimal()},
          {"dispute_id", verdict.dispute_id.toDecimal()},
          {"solver_correct", verdict.solver_correct},
          {"signer", checksumAddress(signer)},
          {"signature", toHex(rsv)}};
}

SignedVerdict SignedVerdict::fromJson(const nlohmann::json& j) {
  SignedVerdict s;
  try {
    s.verdict.chain_id = j.at("chain_id").get<uint64_t>();
    s.verdict.contract = parseAddress(j.at("contract").get<std::string>(), "verdict contract");
    s.verdict.job_id = U256::parse(j.at("job_id").get<std::string>(), "verdict job_id");
    s.verdict.dispute_id = U256::parse(j.at("dispute_id").get<std::string>(), "verdict dispute_id");
    s.verdict.solver_correct = j.at("solver_correct").get<bool>();
    s.signer = parseAddress(j.at("signer").get<std::string>(), "verdict signer");
    s.signature = Signature::fromRsv(
        fixedFromHex<65>(j.at("signature").get<std::string>(), "verdict signature"));
  } catch (const nlohmann::json::exception& e) {
    throw VerificationError(fmt::format("a signed verdict is malformed: {}", e.what()));
  }
  if (recoverAddress(verdictDigest(s.verdict), s.signature) != s.signer) {
    throw VerificationError(fmt::format("a verdict signature does not recover to its signer {}",
                                        checksumAddress(s.signer)));
  }
  return s;
}

std::vector<Signature> signaturesFor(const Verdict& v, const std::vector<SignedVerdict>& all) {
  std::vector<Signature> out;
  std::set<Address> seen;
  for (const SignedVerdict& s : all) {
    const Verdict& w = s.verdict;
    if (w.chain_id != v.chain_id || w.contract != v.contract || w.job_id != v.job_id ||
        w.dispute_id != v.dispute_id || w.solver_correct != v.solver_correct) {
      continue;
    }
    if (!seen.insert(s.signer).second) continue;
    out.push_back(s.signature);
  }
  return out;
}

}  // namespace mlcp::bridge
