#include "bridge/commitment.h"

#include <fmt/format.h>

#include "base/error.h"
#include "bridge/abi.h"
#include "bridge/keccak.h"

namespace mlcp::bridge {

Hash32 checkpointTag() { return keccak256("mlcp.checkpoint.v1"); }

Hash32 checkpointMessage(const Commitment& c) {
  using abi::Type;
  using abi::Value;
  static const std::vector<Type> kTypes = {Type::parse("bytes32"), Type::parse("uint256"),
                                           Type::parse("address"), Type::parse("uint256"),
                                           Type::parse("uint256"), Type::parse("bytes32")};
  return keccak256(
      abi::encode(kTypes, {Value::fixedBytes(checkpointTag()), Value::uint(U256(c.chain_id)),
                           Value::address(c.contract), Value::uint(c.job_id),
                           Value::uint(U256(c.index)), Value::fixedBytes(c.root)}));
}

Hash32 checkpointDigest(const Commitment& c) { return personalSignDigest(checkpointMessage(c)); }

SignedCommitment signCommitment(const Commitment& c, const EthKey& key) {
  return {c, key.sign(checkpointDigest(c)), key.address()};
}

Bytes commitCheckpointCalldata(const SignedCommitment& s) {
  using abi::Value;
  const Commitment& c = s.commitment;
  return abi::encodeCall(
      "commitCheckpoint(uint256,uint256,bytes32,uint8,bytes32,bytes32)",
      {Value::uint(c.job_id), Value::uint(U256(c.index)), Value::fixedBytes(c.root),
       Value::uint(U256(27u + s.signature.recovery_id)), Value::fixedBytes(s.signature.r),
       Value::fixedBytes(s.signature.s)});
}

Bytes commitCheckpointsCalldata(const std::vector<SignedCommitment>& batch) {
  using abi::Value;
  require(!batch.empty(), "commitCheckpointsCalldata needs at least one commitment");
  const Commitment& first = batch.front().commitment;
  std::vector<Value> roots, vs, rs, ss;
  for (size_t i = 0; i < batch.size(); ++i) {
    const Commitment& c = batch[i].commitment;
    require(
        c.job_id == first.job_id && c.contract == first.contract && c.chain_id == first.chain_id,
        "a commitment batch must be of one job on one contract and chain");
    require(c.index == first.index + i,
            fmt::format("commitment batch index {} is not consecutive", c.index));
    roots.push_back(Value::fixedBytes(c.root));
    vs.push_back(Value::uint(U256(27u + batch[i].signature.recovery_id)));
    rs.push_back(Value::fixedBytes(batch[i].signature.r));
    ss.push_back(Value::fixedBytes(batch[i].signature.s));
  }
  return abi::encodeCall("commitCheckpoints(uint256,uint256,bytes32[],uint8[],bytes32[],bytes32[])",
                         {Value::uint(first.job_id), Value::uint(U256(first.index)),
                          Value::list(roots), Value::list(vs), Value::list(rs), Value::list(ss)});
}

nlohmann::json SignedCommitment::toJson() const {
  return {{"type", "checkpoint-commitment"},
          {"chain_id", commitment.chain_id},
          {"contract", checksumAddress(commitment.contract)},
          {"job_id", commitment.job_id.toDecimal()},
          {"index", commitment.index},
          {"root", toHex(commitment.root)},
          {"signer", checksumAddress(signer)},
          {"signature", toHex(signature.toRsv())}};
}

SignedCommitment SignedCommitment::fromJson(const nlohmann::json& j) {
  SignedCommitment s;
  try {
    s.commitment.chain_id = j.at("chain_id").get<uint64_t>();
    s.commitment.contract =
        parseAddress(j.at("contract").get<std::string>(), "commitment contract");
    s.commitment.job_id = U256::parse(j.at("job_id").get<std::string>(), "commitment job_id");
    s.commitment.index = j.at("index").get<uint64_t>();
    s.commitment.root = fixedFromHex<32>(j.at("root").get<std::string>(), "commitment root");
    s.signer = parseAddress(j.at("signer").get<std::string>(), "commitment signer");
    s.signature = Signature::fromRsv(
        fixedFromHex<65>(j.at("signature").get<std::string>(), "commitment signature"));
  } catch (const nlohmann::json::exception& e) {
    throw VerificationError(fmt::format("malformed commitment: {}", e.what()));
  }
  if (recoverAddress(checkpointDigest(s.commitment), s.signature) != s.signer) {
    throw VerificationError(fmt::format("commitment of job {} checkpoint {} is not signed by {}",
                                        s.commitment.job_id.toDecimal(), s.commitment.index,
                                        checksumAddress(s.signer)));
  }
  return s;
}

}  // namespace mlcp::bridge
