#include "volunteer/aead.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <array>

#include "base/error.h"
#include "base/sodium.h"

namespace mlcp::volunteer {
namespace {

// OpenSSL's own words for the newest error on this thread's queue (and the queue emptied).
std::string openSslError(const char* what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fmt::format("OpenSSL {} failed", what);
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return fmt::format("OpenSSL {} failed: {}", what, text);
}

void check(int rc, const char* what) {
  if (rc != 1) throw Error(openSslError(what));
}

const EVP_CIPHER* cipherOf(CipherSuite suite) {
  switch (suite) {
    case CipherSuite::kAes256Gcm:
      return EVP_aes_256_gcm();
    case CipherSuite::kChaCha20Poly1305:
      return EVP_chacha20_poly1305();
  }
  return nullptr;
}

// EVP's lengths are int: feed larger buffers in pieces (a sealed frame is far below INT_MAX, but
// the contract does not depend on it).
template <typename Update>
void inPieces(const uint8_t* in, uint8_t* out, size_t size, Update update) {
  constexpr size_t kPiece = size_t{1} << 30;
  while (size > 0) {
    const size_t n = size < kPiece ? size : kPiece;
    update(in, out, static_cast<int>(n));
    in += n;
    if (out != nullptr) out += n;
    size -= n;
  }
}

}  // namespace

uint32_t availableCipherSuites() {
  ensureSodium();
  uint32_t suites = static_cast<uint32_t>(CipherSuite::kChaCha20Poly1305);
  if (crypto_aead_aes256gcm_is_available())
    suites |= static_cast<uint32_t>(CipherSuite::kAes256Gcm);
  return suites;
}

std::string cipherSuiteName(CipherSuite suite) {
  switch (suite) {
    case CipherSuite::kChaCha20Poly1305:
      return "ChaCha20-Poly1305";
    case CipherSuite::kAes256Gcm:
      return "AES-256-GCM";
  }
  return fmt::format("cipher suite {}", static_cast<unsigned>(suite));
}

struct Aead::CipherContext {
  EVP_CIPHER_CTX* ctx = nullptr;
  ~CipherContext() { EVP_CIPHER_CTX_free(ctx); }  // frees and wipes the key schedule
};

Aead::Aead(CipherSuite suite, const AeadKey& key)
    : suite_(suite), context_(std::make_unique<CipherContext>()) {
  const uint32_t bit = static_cast<uint32_t>(suite);
  require((bit == 1 || bit == 2) && (availableCipherSuites() & bit) != 0,
          fmt::format("Aead: {} is not available on this machine", cipherSuiteName(suite)));
  context_->ctx = EVP_CIPHER_CTX_new();
  if (context_->ctx == nullptr) throw Error(openSslError("EVP_CIPHER_CTX_new"));
  // The key is expanded here, once; each message sets only its nonce. Both suites' default
  // nonce length is 12 bytes.
  check(EVP_CipherInit_ex(context_->ctx, cipherOf(suite), nullptr, key.data(), nullptr, 1),
        "EVP_CipherInit_ex (key)");
}

Aead::~Aead() = default;
Aead::Aead(Aead&&) noexcept = default;
Aead& Aead::operator=(Aead&&) noexcept = default;

namespace {

// Sets the nonce (the key stays), then runs the associated data and the text, in place, through
// the cipher in the direction `encrypt` says: the part seal and open share.
void cipherInPlace(EVP_CIPHER_CTX* ctx, int encrypt, const AeadNonce& nonce, const uint8_t* ad,
                   size_t ad_size, uint8_t* text, size_t size) {
  check(EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data(), encrypt),
        "EVP_CipherInit_ex (nonce)");
  int n = 0;
  inPieces(ad, nullptr, ad_size, [&](const uint8_t* in, uint8_t*, int len) {
    check(EVP_CipherUpdate(ctx, nullptr, &n, in, len), "EVP_CipherUpdate (AD)");
  });
  inPieces(text, text, size, [&](const uint8_t* in, uint8_t* out, int len) {
    check(EVP_CipherUpdate(ctx, out, &n, in, len), "EVP_CipherUpdate");
  });
}

}  // namespace

void Aead::seal(const AeadNonce& nonce, const uint8_t* ad, size_t ad_size, uint8_t* text,
                size_t size, uint8_t* tag) {
  require(context_ != nullptr, "Aead::seal on a moved-from Aead");
  EVP_CIPHER_CTX* ctx = context_->ctx;
  cipherInPlace(ctx, 1, nonce, ad, ad_size, text, size);
  int n = 0;
  check(EVP_EncryptFinal_ex(ctx, text + size, &n), "EVP_EncryptFinal_ex");
  check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kAeadTagBytes, tag),
        "EVP_CIPHER_CTX_ctrl (get tag)");
}

bool Aead::open(const AeadNonce& nonce, const uint8_t* ad, size_t ad_size, uint8_t* text,
                size_t size, const uint8_t* tag) {
  require(context_ != nullptr, "Aead::open on a moved-from Aead");
  EVP_CIPHER_CTX* ctx = context_->ctx;
  cipherInPlace(ctx, 0, nonce, ad, ad_size, text, size);
  std::array<uint8_t, kAeadTagBytes> expected;
  std::copy(tag, tag + kAeadTagBytes, expected.begin());
  check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kAeadTagBytes, expected.data()),
        "EVP_CIPHER_CTX_ctrl (set tag)");
  // Final compares the tags in constant time; decryption ran before it, so a forgery's
  // plaintext is wiped rather than left to a caller that might look at it.
  int n = 0;
  if (EVP_DecryptFinal_ex(ctx, text + size, &n) != 1) {
    ERR_clear_error();
    OPENSSL_cleanse(text, size);
    return false;
  }
  return true;
}

}  // namespace mlcp::volunteer
