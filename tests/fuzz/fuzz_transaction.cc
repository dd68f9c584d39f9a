// Fuzzes EIP-1559 transaction decoding with sender recovery (bridge/transaction.h).
// InvalidArgument / VerificationError are the expected rejections.
//
// Byte 0 picks the mode:
//  - even: the rest is a raw transaction for SignedTx::decode. An accepted one must re-encode
//    to the same bytes from its decoded fields, and its hash is keccak256 of them;
//  - odd: the rest describes a transaction (FuzzedDataProvider), which is signed with a fixed
//    key and decoded again: every field and the sender must come back.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <vector>

#include "bridge/keccak.h"
#include "bridge/rlp.h"
#include "bridge/transaction.h"
#include "tests/fuzz/fuzz_util.h"

namespace bridge = mlcp::bridge;
namespace rlp = mlcp::bridge::rlp;
using mlcp::fuzz::expectOnlyMlcpErrors;
using mlcp::fuzz::fuzzCheck;

namespace {

// raw = 0x02 || rlp([chainId, nonce, tip, maxFee, gas, to, value, data, [], yParity, r, s])
bridge::Bytes reencode(const bridge::SignedTx& s) {
  const bridge::Eip1559Tx& tx = s.tx;
  std::vector<bridge::Bytes> fields = {
      rlp::encodeUint(bridge::U256(tx.chain_id)),
      rlp::encodeUint(bridge::U256(tx.nonce)),
      rlp::encodeUint(tx.max_priority_fee_per_gas),
      rlp::encodeUint(tx.max_fee_per_gas),
      rlp::encodeUint(bridge::U256(tx.gas_limit)),
      tx.to ? rlp::encodeString(tx.to->data(), tx.to->size()) : rlp::encodeString(bridge::Bytes{}),
      rlp::encodeUint(tx.value),
      rlp::encodeString(tx.data),
      rlp::encodeList({}),
      rlp::encodeUint(bridge::U256(s.signature.recovery_id)),
      rlp::encodeUint(bridge::U256::fromBigEndian(s.signature.r.data(), 32)),
      rlp::encodeUint(bridge::U256::fromBigEndian(s.signature.s.data(), 32))};
  bridge::Bytes out{0x02};
  const bridge::Bytes list = rlp::encodeList(fields);
  out.insert(out.end(), list.begin(), list.end());
  return out;
}

const bridge::EthKey& key() {
  static const bridge::EthKey k = bridge::EthKey::fromPrivateKey(
      bridge::Hash32{0xac, 0x09, 0x74, 0xbe, 0xc3, 0x9a, 0x17, 0xe3, 0x6b, 0xa4, 0xa6,
                     0xb4, 0xd2, 0x38, 0xff, 0x94, 0x4b, 0xac, 0xb4, 0x78, 0xcb, 0xed,
                     0x5e, 0xfc, 0xae, 0x78, 0x4d, 0x7b, 0xf4, 0xf2, 0xff, 0x80});
  return k;
}

bridge::U256 u256(FuzzedDataProvider& in) {
  const std::vector<uint8_t> b = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 32));
  return bridge::U256::fromBigEndian(b.data(), b.size());
}

void decodeRaw(const bridge::Bytes& raw) {
  const bridge::SignedTx s = bridge::SignedTx::decode(raw);
  fuzzCheck(s.raw == raw, "SignedTx::decode keeps the raw bytes");
  fuzzCheck(s.hash == bridge::keccak256(raw), "the hash is keccak256(raw)");
  fuzzCheck(reencode(s) == raw, "a decoded transaction re-encodes to its raw bytes");
}

void signAndDecode(FuzzedDataProvider& in) {
  bridge::Eip1559Tx tx;
  tx.chain_id = in.ConsumeIntegral<uint64_t>();
  tx.nonce = in.ConsumeIntegral<uint64_t>();
  tx.max_priority_fee_per_gas = u256(in);
  tx.max_fee_per_gas = u256(in);
  tx.gas_limit = in.ConsumeIntegral<uint64_t>();
  if (in.ConsumeBool()) {
    bridge::Address to{};
    in.ConsumeData(to.data(), to.size());
    tx.to = to;
  }
  tx.value = u256(in);
  tx.data = in.ConsumeRemainingBytes<uint8_t>();
  const bridge::SignedTx s = bridge::signTransaction(tx, key());
  const bridge::SignedTx d = bridge::SignedTx::decode(s.raw);
  fuzzCheck(d.from == key().address(), "the sender recovers to the signing key");
  fuzzCheck(d.hash == s.hash && d.raw == s.raw, "hash and raw bytes come back");
  fuzzCheck(d.tx.chain_id == tx.chain_id && d.tx.nonce == tx.nonce &&
                d.tx.max_priority_fee_per_gas == tx.max_priority_fee_per_gas &&
                d.tx.max_fee_per_gas == tx.max_fee_per_gas && d.tx.gas_limit == tx.gas_limit &&
                d.tx.to == tx.to && d.tx.value == tx.value && d.tx.data == tx.data,
            "every field comes back");
  fuzzCheck(d.signature.r == s.signature.r && d.signature.s == s.signature.s &&
                d.signature.recovery_id == s.signature.recovery_id,
            "the signature comes back");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] % 2 == 0) {
    const bridge::Bytes raw(data + 1, data + size);
    expectOnlyMlcpErrors([&] { decodeRaw(raw); });
  } else {
    FuzzedDataProvider in(data + 1, size - 1);
    expectOnlyMlcpErrors([&] { signAndDecode(in); });
  }
  return 0;
}
