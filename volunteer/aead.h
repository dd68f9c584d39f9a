// The record layer's cipher: authenticated encryption with one key for many messages, under one
// of the session's cipher suites. Both suites are the standard algorithms — AES-256-GCM (NIST SP
// 800-38D) and ChaCha20-Poly1305 (RFC 8439, the "IETF" variant) with 12-byte nonces and 16-byte
// tags — so any conforming implementation interoperates, bit for bit.
//
// The bulk cipher is OpenSSL's EVP implementation: on this machine's cores it seals at
// 4.2-4.5 GB/s (AES-NI/VAES, AVX-512), against 1.3-1.8 GB/s for libsodium 1.0.18's, and a
// volunteer's contributions are megabytes per unit, sealed and opened once each (issue #16's
// transport target: sealed at >= 0.8x of unencrypted UCX). libsodium keeps the handshake (X25519,
// ed25519, the short boxes of handshake.cc) and decides whether AES is offered at all: only where
// the CPU has AES-NI and PCLMUL (crypto_aead_aes256gcm_is_available), since a table-based
// software AES leaks its key through cache timing; elsewhere ChaCha20-Poly1305 is the only suite.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "volunteer/wire.h"  // kAeadTagBytes: the tag is part of the wire format

namespace mlcp::volunteer {

// Cipher suites, as bits of ClientHello::cipher_suites and values of ServerHello::cipher.
enum class CipherSuite : uint16_t {
  kChaCha20Poly1305 = 1,  // everywhere
  kAes256Gcm = 2,         // x86-64 with AES-NI and PCLMUL
};
// The suites this machine can run safely (bit set).
uint32_t availableCipherSuites();
std::string cipherSuiteName(CipherSuite suite);

constexpr size_t kAeadKeyBytes = 32;
constexpr size_t kAeadNonceBytes = 12;
using AeadKey = std::array<uint8_t, kAeadKeyBytes>;
using AeadNonce = std::array<uint8_t, kAeadNonceBytes>;

// One key of one suite, expanded once (RAII over an OpenSSL cipher context, which keeps the key
// schedule and is wiped when freed). Not thread-safe: one Aead per direction of a channel.
class Aead {
 public:
  // InvalidArgument for a suite this machine does not run (availableCipherSuites).
  Aead(CipherSuite suite, const AeadKey& key);
  ~Aead();
  Aead(Aead&&) noexcept;
  Aead& operator=(Aead&&) noexcept;
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;

  // Encrypts `size` bytes at `text` in place and writes the tag (kAeadTagBytes) to `tag`.
  // A nonce must never be used twice with one key: the caller numbers its messages.
  void seal(const AeadNonce& nonce, const uint8_t* ad, size_t ad_size, uint8_t* text, size_t size,
            uint8_t* tag);
  // Decrypts in place and checks the tag: false (and `text` zeroed) when the ciphertext, the tag,
  // the associated data or the nonce is not what was sealed with this key.
  bool open(const AeadNonce& nonce, const uint8_t* ad, size_t ad_size, uint8_t* text, size_t size,
            const uint8_t* tag);

  CipherSuite suite() const { return suite_; }

 private:
  struct CipherContext;  // the OpenSSL context holding the expanded key
  CipherSuite suite_;
  std::unique_ptr<CipherContext> context_;
};

}  // namespace mlcp::volunteer
