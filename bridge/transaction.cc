#include "bridge/transaction.h"

#include <fmt/format.h>

#include "base/error.h"
#include "bridge/keccak.h"
#include "bridge/rlp.h"

namespace mlcp::bridge {

namespace {

std::vector<Bytes> unsignedFields(const Eip1559Tx& tx) {
  return {rlp::encodeUint(U256(tx.chain_id)),
          rlp::encodeUint(U256(tx.nonce)),
          rlp::encodeUint(tx.max_priority_fee_per_gas),
          rlp::encodeUint(tx.max_fee_per_gas),
          rlp::encodeUint(U256(tx.gas_limit)),
          tx.to ? rlp::encodeString(tx.to->data(), tx.to->size()) : rlp::encodeString(Bytes{}),
          rlp::encodeUint(tx.value),
          rlp::encodeString(tx.data),
          rlp::encodeList({})};
}

Bytes typed(const Bytes& rlp_payload) {
  // Sized up front (an insert into a one-byte vector trips GCC 12's -Warray-bounds).
  Bytes out(rlp_payload.size() + 1);
  out[0] = 0x02;
  std::copy(rlp_payload.begin(), rlp_payload.end(), out.begin() + 1);
  return out;
}

U256 scalar(const rlp::Item& item, const char* field) {
  if (item.is_list || item.bytes.size() > 32 || (!item.bytes.empty() && item.bytes[0] == 0)) {
    throw InvalidArgument(fmt::format("transaction field {} is not a canonical integer", field));
  }
  return U256::fromBigEndian(item.bytes);
}

}  // namespace

Hash32 Eip1559Tx::signingHash() const {
  return keccak256(typed(rlp::encodeList(unsignedFields(*this))));
}

SignedTx signTransaction(const Eip1559Tx& tx, const EthKey& key) {
  SignedTx s;
  s.tx = tx;
  s.signature = key.sign(tx.signingHash());
  std::vector<Bytes> fields = unsignedFields(tx);
  fields.push_back(rlp::encodeUint(U256(s.signature.recovery_id)));
  fields.push_back(rlp::encodeUint(U256::fromBigEndian(s.signature.r.data(), 32)));
  fields.push_back(rlp::encodeUint(U256::fromBigEndian(s.signature.s.data(), 32)));
  s.raw = typed(rlp::encodeList(fields));
  s.hash = keccak256(s.raw);
  s.from = key.address();
  return s;
}

SignedTx SignedTx::decode(const Bytes& raw) {
  if (raw.empty() || raw[0] != 0x02) throw InvalidArgument("not an EIP-1559 (type 2) transaction");
  rlp::Item item = rlp::decode(Bytes(raw.begin() + 1, raw.end()));
  if (!item.is_list || item.items.size() != 12) {
    throw InvalidArgument("an EIP-1559 transaction is a list of 12 fields");
  }
  const auto& f = item.items;
  SignedTx s;
  s.tx.chain_id = scalar(f[0], "chainId").toU64();
  s.tx.nonce = scalar(f[1], "nonce").toU64();
  s.tx.max_priority_fee_per_gas = scalar(f[2], "maxPriorityFeePerGas");
  s.tx.max_fee_per_gas = scalar(f[3], "maxFeePerGas");
  s.tx.gas_limit = scalar(f[4], "gasLimit").toU64();
  if (f[5].is_list || (f[5].bytes.size() != 0 && f[5].bytes.size() != 20)) {
    throw InvalidArgument("transaction field to is neither empty nor 20 bytes");
  }
  if (!f[5].bytes.empty()) {
    Address to{};
    std::copy(f[5].bytes.begin(), f[5].bytes.end(), to.begin());
    s.tx.to = to;
  }
  s.tx.value = scalar(f[6], "value");
  if (f[7].is_list) throw InvalidArgument("transaction field data is a list");
  s.tx.data = f[7].bytes;
  if (!f[8].is_list || !f[8].items.empty())
    throw InvalidArgument("non-empty access lists are not supported");
  U256 y = scalar(f[9], "yParity");
  if (y > U256(1)) throw InvalidArgument("transaction yParity is not 0 or 1");
  s.signature.recovery_id = static_cast<uint8_t>(y.toU64());
  s.signature.r = scalar(f[10], "r").toBigEndian();
  s.signature.s = scalar(f[11], "s").toBigEndian();
  s.raw = raw;
  s.hash = keccak256(raw);
  s.from = recoverAddress(s.tx.signingHash(), s.signature);
  return s;
}

Address contractAddress(const Address& sender, uint64_t nonce) {
  Hash32 h = keccak256(rlp::encodeList(
      {rlp::encodeString(sender.data(), sender.size()), rlp::encodeUint(U256(nonce))}));
  Address a{};
  std::copy(h.begin() + 12, h.end(), a.begin());
  return a;
}

}  // namespace mlcp::bridge
