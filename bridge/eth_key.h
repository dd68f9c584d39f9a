// Ethereum accounts: secp256k1 private keys, their addresses, recoverable signatures, EIP-55
// checksummed addresses and EIP-191 personal-sign digests. Backed by libsecp256k1.
//
// An address is the last 20 bytes of keccak256(uncompressed public key without its 0x04 byte).
//
// Key file format (text; private like an ssh key: written 0600, refused when group or others
// may access it):
//   # mlcp chain key (secp256k1). Keep this file private.
//   address: 0x<40 hex digits, EIP-55 checksummed>
//   private: 0x<64 hex digits>
// A file holding only the 0x-hex private key on one line (as foundry tools print it) loads too.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "bridge/bytes.h"

namespace mlcp::bridge {

// EIP-55 mixed-case checksum encoding ("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266").
std::string checksumAddress(const Address& a);
// Parses "0x" + 40 hex digits. All-lower or all-upper hex is accepted as is; mixed case must be
// a correct EIP-55 checksum. Throws UsageError naming `what` otherwise.
Address parseAddress(std::string_view text, std::string_view what = "address");

// EIP-191 version 0x45: keccak256("\x19Ethereum Signed Message:\n" + decimal(len) + message),
// what `eth_sign`/`personal_sign` and OpenZeppelin's toEthSignedMessageHash sign.
Hash32 personalSignDigest(const uint8_t* message, size_t size);
inline Hash32 personalSignDigest(const Hash32& h) { return personalSignDigest(h.data(), h.size()); }

struct Signature {
  Hash32 r{};
  Hash32 s{};               // low-s (EIP-2), as libsecp256k1 always produces
  uint8_t recovery_id = 0;  // 0 or 1: the y parity of the nonce point (EIP-1559's yParity)

  // r || s || v with v = 27 + recovery_id: the 65-byte form Solidity's ecrecover callers take.
  std::array<uint8_t, 65> toRsv() const;
  static Signature fromRsv(const std::array<uint8_t, 65>& rsv);  // v may be 0/1 or 27/28
};

class EthKey {
 public:
  static EthKey generate();
  // Throws UsageError naming `what` when the key is zero or not below the curve order.
  static EthKey fromPrivateKey(const Hash32& secret, std::string_view what = "private key");
  static EthKey fromHex(std::string_view hex, std::string_view what = "private key");
  // Throws UsageError when the file is missing, malformed, inconsistent, or accessible by
  // group/others.
  static EthKey load(const std::string& path);

  EthKey(const EthKey& o) = default;
  EthKey& operator=(const EthKey& o) = default;
  ~EthKey();  // wipes the secret

  // Writes the key file with mode 0600 (parent folders 0700), fsynced, atomically renamed into
  // place. Throws UsageError when `path` exists and `overwrite` is false; IoError on a failure.
  void save(const std::string& path, bool overwrite) const;

  const Address& address() const { return address_; }
  std::string addressHex() const { return checksumAddress(address_); }
  // A recoverable ECDSA signature of a 32-byte digest (RFC 6979 deterministic nonce).
  Signature sign(const Hash32& digest) const;

 private:
  EthKey() = default;
  Hash32 secret_{};
  Address address_{};
};

// The address whose key made `sig` over `digest`; throws VerificationError when none does.
Address recoverAddress(const Hash32& digest, const Signature& sig);

}  // namespace mlcp::bridge
