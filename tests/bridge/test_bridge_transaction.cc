// EIP-1559 transactions offline: signing hash, raw encoding, decode + sender recovery, contract
// addresses. (The byte-for-byte cross-check against `cast mktx` is in test_bridge_chain.)
#include <gtest/gtest.h>

#include "base/error.h"
#include "bridge/keccak.h"
#include "bridge/transaction.h"

namespace mlcp::bridge {
namespace {

TEST(Transaction, SignDecodeRoundTrip) {
  EthKey k = EthKey::fromHex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
  Eip1559Tx tx;
  tx.chain_id = 31337;
  tx.nonce = 7;
  tx.max_priority_fee_per_gas = U256(1000000000);
  tx.max_fee_per_gas = U256(3000000000u);
  tx.gas_limit = 21000;
  tx.to = parseAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
  tx.value = U256::parseAmount("1ether");
  SignedTx s = signTransaction(tx, k);
  EXPECT_EQ(s.raw[0], 0x02);
  EXPECT_EQ(s.hash, keccak256(s.raw));
  SignedTx d = SignedTx::decode(s.raw);
  EXPECT_EQ(d.from, k.address());
  EXPECT_EQ(d.tx.nonce, 7u);
  EXPECT_EQ(d.tx.chain_id, 31337u);
  EXPECT_EQ(d.tx.value, tx.value);
  EXPECT_EQ(*d.tx.to, *tx.to);
  EXPECT_EQ(d.hash, s.hash);
  // A flipped byte in the payload changes the recovered sender or fails to decode.
  Bytes tampered = s.raw;
  tampered[tampered.size() - 40] ^= 1;
  try {
    EXPECT_NE(SignedTx::decode(tampered).from, k.address());
  } catch (const Error&) {
  }
  EXPECT_THROW(SignedTx::decode(Bytes{0x01, 0xc0}), InvalidArgument);
}

TEST(Transaction, ContractCreationAddress) {
  // Anvil's account 0 deploying at nonce 0 and 1 (well-known foundry addresses).
  Address a = parseAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
  EXPECT_EQ(checksumAddress(contractAddress(a, 0)), "0x5FbDB2315678afecb367f032d93F642f64180aa3");
  EXPECT_EQ(checksumAddress(contractAddress(a, 1)), "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
}

}  // namespace
}  // namespace mlcp::bridge
