// EIP-1559 (type 2) transactions, built, RLP-encoded and signed locally:
//   signing hash = keccak256(0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas,
//                                         gasLimit, to, value, data, accessList]))
//   raw          = 0x02 || rlp([... the nine fields ..., yParity, r, s])
//   tx hash      = keccak256(raw)
// The access list is always empty here. `to` empty means contract creation.
#pragma once

#include <optional>

#include "bridge/bytes.h"
#include "bridge/eth_key.h"
#include "bridge/u256.h"

namespace mlcp::bridge {

struct Eip1559Tx {
  uint64_t chain_id = 0;
  uint64_t nonce = 0;
  U256 max_priority_fee_per_gas;
  U256 max_fee_per_gas;
  uint64_t gas_limit = 0;
  std::optional<Address> to;  // nullopt: deploy `data` as init code
  U256 value;
  Bytes data;

  Hash32 signingHash() const;
};

struct SignedTx {
  Eip1559Tx tx;
  Signature signature;
  Bytes raw;      // what eth_sendRawTransaction takes
  Hash32 hash{};  // keccak256(raw): the hash the node reports
  Address from{};

  // Decodes a raw type-2 transaction and recovers its sender; throws InvalidArgument when it is
  // not a well-formed signed EIP-1559 transaction.
  static SignedTx decode(const Bytes& raw);
};

SignedTx signTransaction(const Eip1559Tx& tx, const EthKey& key);

// The address a contract deployed by `sender` with `nonce` gets: keccak256(rlp([sender,
// nonce]))[12:].
Address contractAddress(const Address& sender, uint64_t nonce);

}  // namespace mlcp::bridge
