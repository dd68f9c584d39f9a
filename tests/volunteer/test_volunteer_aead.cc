// The record layer's cipher (volunteer/aead.h) is the standard AEAD, bit for bit: for both suites
// and many lengths, what it seals equals what libsodium seals with the same key, nonce and
// associated data (so a peer built on either opens the other's frames); it opens libsodium's
// frames; one changed bit anywhere is refused and leaves no plaintext behind; one Aead serves
// many messages; and the RFC 8439 test vector holds.
#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/sodium.h"
#include "volunteer/aead.h"

namespace {

using namespace mlcp::volunteer;
using Bytes = std::vector<uint8_t>;

Bytes randomBytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// libsodium declares its buffer arguments non-null even for 0 bytes, and an empty vector's data()
// may be null: pass a dummy byte's address then.
uint8_t* at(Bytes& b) {
  static uint8_t none = 0;
  return b.empty() ? &none : b.data();
}
const uint8_t* at(const Bytes& b) { return at(const_cast<Bytes&>(b)); }

struct Sealed {
  Bytes text;
  std::array<uint8_t, kAeadTagBytes> tag{};
};

// libsodium's detached encryption: the reference.
Sealed sodiumSeal(CipherSuite suite, const AeadKey& key, const AeadNonce& nonce, const Bytes& ad,
                  const Bytes& plain) {
  Sealed s;
  s.text.resize(plain.size());
  unsigned long long tag_len = 0;
  if (suite == CipherSuite::kAes256Gcm) {
    crypto_aead_aes256gcm_encrypt_detached(at(s.text), s.tag.data(), &tag_len, at(plain),
                                           plain.size(), at(ad), ad.size(), nullptr, nonce.data(),
                                           key.data());
  } else {
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(at(s.text), s.tag.data(), &tag_len,
                                                       at(plain), plain.size(), at(ad), ad.size(),
                                                       nullptr, nonce.data(), key.data());
  }
  EXPECT_EQ(tag_len, kAeadTagBytes);
  return s;
}

bool sodiumOpen(CipherSuite suite, const AeadKey& key, const AeadNonce& nonce, const Bytes& ad,
                const Sealed& s, Bytes& plain) {
  plain.resize(s.text.size());
  if (suite == CipherSuite::kAes256Gcm) {
    return crypto_aead_aes256gcm_decrypt_detached(at(plain), nullptr, at(s.text), s.text.size(),
                                                  s.tag.data(), at(ad), ad.size(), nonce.data(),
                                                  key.data()) == 0;
  }
  return crypto_aead_chacha20poly1305_ietf_decrypt_detached(
             at(plain), nullptr, at(s.text), s.text.size(), s.tag.data(), at(ad), ad.size(),
             nonce.data(), key.data()) == 0;
}

class VolunteerAead : public ::testing::TestWithParam<CipherSuite> {
 protected:
  void SetUp() override {
    mlcp::ensureSodium();
    if ((availableCipherSuites() & static_cast<uint32_t>(GetParam())) == 0) {
      GTEST_SKIP() << cipherSuiteName(GetParam()) << " needs AES-NI and PCLMUL; not on this CPU";
    }
  }
};

TEST_P(VolunteerAead, SealsAndOpensAsLibsodiumDoes) {
  const CipherSuite suite = GetParam();
  std::mt19937 rng(17);
  AeadKey key;
  for (auto& x : key) x = static_cast<uint8_t>(rng());
  Aead aead(suite, key);  // one key schedule for every message below
  uint64_t counter = 0;
  for (size_t size : {0, 1, 15, 16, 17, 63, 64, 255, 4096, 65536 + 3, 1 << 20}) {
    for (size_t ad_size : {0, 1, 13, 120}) {
      SCOPED_TRACE(testing::Message()
                   << cipherSuiteName(suite) << " text " << size << " AD " << ad_size);
      AeadNonce nonce{};
      std::memcpy(nonce.data(), &++counter, sizeof(counter));
      const Bytes plain = randomBytes(rng, size), ad = randomBytes(rng, ad_size);
      const Sealed reference = sodiumSeal(suite, key, nonce, ad, plain);

      Sealed ours;
      ours.text = plain;
      aead.seal(nonce, ad.data(), ad.size(), ours.text.data(), size, ours.tag.data());
      ASSERT_EQ(ours.text, reference.text);
      ASSERT_EQ(ours.tag, reference.tag);

      // libsodium opens ours, and we open libsodium's, in place.
      Bytes back;
      ASSERT_TRUE(sodiumOpen(suite, key, nonce, ad, ours, back));
      ASSERT_EQ(back, plain);
      Bytes text = reference.text;
      ASSERT_TRUE(aead.open(nonce, ad.data(), ad.size(), text.data(), size, reference.tag.data()));
      ASSERT_EQ(text, plain);
    }
  }
}

TEST_P(VolunteerAead, AnyChangedBitIsRefusedAndWiped) {
  const CipherSuite suite = GetParam();
  std::mt19937 rng(5);
  AeadKey key;
  for (auto& x : key) x = static_cast<uint8_t>(rng());
  Aead aead(suite, key);
  const AeadNonce nonce{9};
  const Bytes plain = randomBytes(rng, 300), ad = randomBytes(rng, 40);
  Sealed s;
  s.text = plain;
  aead.seal(nonce, ad.data(), ad.size(), s.text.data(), s.text.size(), s.tag.data());

  auto refused = [&](Sealed c, Bytes a, AeadNonce n) {
    const bool ok = aead.open(n, a.data(), a.size(), c.text.data(), c.text.size(), c.tag.data());
    if (ok) return false;
    for (uint8_t x : c.text) {
      if (x != 0) return false;  // a forgery's plaintext must not be left behind
    }
    return true;
  };
  for (size_t bit : {0, 7, 8 * 150 + 3, 8 * 299 + 7}) {
    Sealed c = s;
    c.text[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_TRUE(refused(c, ad, nonce)) << "ciphertext bit " << bit;
  }
  for (size_t i : {0, 15}) {
    Sealed c = s;
    c.tag[i] ^= 0x80;
    EXPECT_TRUE(refused(c, ad, nonce)) << "tag byte " << i;
  }
  for (size_t i : {0, 39}) {
    Bytes a = ad;
    a[i] ^= 1;
    EXPECT_TRUE(refused(s, a, nonce)) << "AD byte " << i;
  }
  AeadNonce other = nonce;
  other[11] ^= 1;
  EXPECT_TRUE(refused(s, ad, other)) << "nonce";
  AeadKey wrong = key;
  wrong[0] ^= 1;
  Aead stranger(suite, wrong);
  Sealed c = s;
  EXPECT_FALSE(
      stranger.open(nonce, ad.data(), ad.size(), c.text.data(), c.text.size(), c.tag.data()))
      << "another key";
  // After every refusal the key still opens the genuine message.
  Sealed genuine = s;
  ASSERT_TRUE(aead.open(nonce, ad.data(), ad.size(), genuine.text.data(), genuine.text.size(),
                        genuine.tag.data()));
  EXPECT_EQ(genuine.text, plain);
}

INSTANTIATE_TEST_SUITE_P(Suites, VolunteerAead,
                         ::testing::Values(CipherSuite::kChaCha20Poly1305, CipherSuite::kAes256Gcm),
                         [](const auto& info) {
                           return info.param == CipherSuite::kAes256Gcm ? "Aes256Gcm"
                                                                        : "ChaCha20Poly1305";
                         });

// RFC 8439, 2.8.2: the AEAD_CHACHA20_POLY1305 example's tag.
TEST(VolunteerAeadVector, Rfc8439ChaCha20Poly1305) {
  AeadKey key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(0x80 + i);
  const AeadNonce nonce = {0x07, 0x00, 0x00, 0x00, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47};
  const Bytes ad = {0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7};
  const std::string plain =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  Bytes text(plain.begin(), plain.end());
  std::array<uint8_t, kAeadTagBytes> tag{};
  Aead(CipherSuite::kChaCha20Poly1305, key)
      .seal(nonce, ad.data(), ad.size(), text.data(), text.size(), tag.data());
  const std::array<uint8_t, kAeadTagBytes> expected = {0x1a, 0xe1, 0x0b, 0x59, 0x4f, 0x09,
                                                       0xe2, 0x6a, 0x7e, 0x90, 0x2e, 0xcb,
                                                       0xd0, 0x60, 0x06, 0x91};
  EXPECT_EQ(tag, expected);
  const Bytes head = {0xd3, 0x1a, 0x8d, 0x34, 0x64, 0x8e, 0x60, 0xdb};  // the ciphertext's start
  EXPECT_EQ(Bytes(text.begin(), text.begin() + 8), head);
}

TEST(VolunteerAeadVector, UnknownSuiteIsRefused) {
  EXPECT_THROW(Aead(static_cast<CipherSuite>(3), AeadKey{}), mlcp::InvalidArgument);
  EXPECT_THROW(Aead(static_cast<CipherSuite>(0), AeadKey{}), mlcp::InvalidArgument);
}

}  // namespace
