// A node's ed25519 identity (libsodium crypto_sign_*): it signs checkpoint manifests and, later,
// dispute claims. The key file is private like an ssh key: written with mode 0600, and a file
// that group or others may access is refused on load.
//
// Key file format (text, UTF-8):
//   # mlcp node key (ed25519). Keep this file private.
//   public: <64 hex digits: the 32-byte public key>
//   seed: <64 hex digits: the 32-byte secret seed (crypto_sign_seed_keypair)>
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace mlcp::verify {

using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;

// Throws InvalidArgument unless `hex` is exactly 2*N hex digits.
template <size_t N>
std::array<uint8_t, N> arrayFromHex(std::string_view hex, std::string_view what);

// $MLCP_KEY_FILE if set, else $HOME/.config/mlcp/node.key.
std::string defaultKeyPath();

class KeyPair {
 public:
  static KeyPair generate();
  // Deterministic key from a 32-byte seed (tests, reproducible demos).
  static KeyPair fromSeed(const std::array<uint8_t, 32>& seed);
  // Throws UsageError when the file is missing, malformed, or accessible by group/others.
  static KeyPair load(const std::string& path);

  KeyPair(const KeyPair& o);
  KeyPair& operator=(const KeyPair& o);
  ~KeyPair();  // wipes the secret

  // Writes the key with mode 0600 (parent folders created with 0700), fsynced. Throws
  // UsageError when `path` exists and `overwrite` is false; IoError when it cannot be written.
  void save(const std::string& path, bool overwrite) const;

  const PublicKey& publicKey() const { return public_; }
  std::string publicKeyHex() const;

  Signature sign(const void* message, size_t bytes) const;
  Signature sign(std::string_view message) const { return sign(message.data(), message.size()); }

 private:
  KeyPair() = default;
  std::array<uint8_t, 32> seed_{};
  std::array<uint8_t, 64> secret_{};  // libsodium's secret key: seed || public key
  PublicKey public_{};
};

// True when `signature` is `key`'s signature of `message`.
bool verifySignature(const PublicKey& key, const void* message, size_t bytes,
                     const Signature& signature);
inline bool verifySignature(const PublicKey& key, std::string_view message,
                            const Signature& signature) {
  return verifySignature(key, message.data(), message.size(), signature);
}

}  // namespace mlcp::verify
