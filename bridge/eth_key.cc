#include "bridge/eth_key.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "base/durable_file.h"
#include "base/error.h"
#include "bridge/keccak.h"

namespace mlcp::bridge {

namespace {

// One process-wide context: libsecp256k1 contexts are safe to share between threads for
// signing and verification once created and randomised.
const secp256k1_context* ctx() {
  struct Deleter {
    void operator()(secp256k1_context* c) const { secp256k1_context_destroy(c); }
  };
  static const std::unique_ptr<secp256k1_context, Deleter> context = [] {
    std::unique_ptr<secp256k1_context, Deleter> c(secp256k1_context_create(SECP256K1_CONTEXT_NONE));
    unsigned char seed[32];
    if (getrandom(seed, sizeof seed, 0) == sizeof seed) {
      // Blinding against side channels; failure only loses that protection.
      if (!secp256k1_context_randomize(c.get(), seed))
        c.reset(secp256k1_context_create(SECP256K1_CONTEXT_NONE));
    }
    return c;
  }();
  return context.get();
}

void wipe(void* p, size_t n) {
  volatile uint8_t* b = static_cast<volatile uint8_t*>(p);
  while (n--) *b++ = 0;
}

Address addressOf(const secp256k1_pubkey& pub) {
  uint8_t ser[65];
  size_t len = sizeof ser;
  secp256k1_ec_pubkey_serialize(ctx(), ser, &len, &pub, SECP256K1_EC_UNCOMPRESSED);
  Hash32 h = keccak256(ser + 1, 64);
  Address a{};
  std::copy(h.begin() + 12, h.end(), a.begin());
  return a;
}

}  // namespace

std::string checksumAddress(const Address& a) {
  std::string lower = toHex(a).substr(2);
  Hash32 h = keccak256(lower);
  std::string out = "0x";
  for (size_t i = 0; i < lower.size(); ++i) {
    int nib = (i % 2 == 0) ? h[i / 2] >> 4 : h[i / 2] & 15;
    char c = lower[i];
    out.push_back(c >= 'a' && nib >= 8 ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

Address parseAddress(std::string_view text, std::string_view what) {
  if (text.size() != 42 || text[0] != '0' || text[1] != 'x') {
    throw UsageError(fmt::format("{} must be 0x followed by 40 hex digits, got '{}'", what, text));
  }
  Address a{};
  try {
    a = fixedFromHex<20>(text, what);
  } catch (const InvalidArgument&) {
    throw UsageError(fmt::format("{} must be 0x followed by 40 hex digits, got '{}'", what, text));
  }
  std::string_view digits = text.substr(2);
  bool has_lower = digits.find_first_of("abcdef") != std::string_view::npos;
  bool has_upper = digits.find_first_of("ABCDEF") != std::string_view::npos;
  if (has_lower && has_upper && checksumAddress(a) != text) {
    throw UsageError(fmt::format("{} '{}' has a wrong EIP-55 checksum (expected {})", what, text,
                                 checksumAddress(a)));
  }
  return a;
}

Hash32 personalSignDigest(const uint8_t* message, size_t size) {
  std::string prefix = fmt::format(
      "\x19"
      "Ethereum Signed Message:\n{}",
      size);
  Bytes buf(prefix.begin(), prefix.end());
  buf.insert(buf.end(), message, message + size);
  return keccak256(buf);
}

std::array<uint8_t, 65> Signature::toRsv() const {
  std::array<uint8_t, 65> out{};
  std::copy(r.begin(), r.end(), out.begin());
  std::copy(s.begin(), s.end(), out.begin() + 32);
  out[64] = static_cast<uint8_t>(27 + recovery_id);
  return out;
}

Signature Signature::fromRsv(const std::array<uint8_t, 65>& rsv) {
  Signature sig;
  std::copy(rsv.begin(), rsv.begin() + 32, sig.r.begin());
  std::copy(rsv.begin() + 32, rsv.begin() + 64, sig.s.begin());
  uint8_t v = rsv[64];
  if (v >= 27) v = static_cast<uint8_t>(v - 27);
  if (v > 1)
    throw VerificationError(fmt::format("signature v byte {} is not 0, 1, 27 or 28", rsv[64]));
  sig.recovery_id = v;
  return sig;
}

EthKey::~EthKey() { wipe(secret_.data(), secret_.size()); }

EthKey EthKey::generate() {
  for (;;) {
    Hash32 secret{};
    if (getrandom(secret.data(), secret.size(), 0) != static_cast<ssize_t>(secret.size())) {
      throw IoError(fmt::format("getrandom failed: {}", std::strerror(errno)));
    }
    if (secp256k1_ec_seckey_verify(ctx(), secret.data())) {
      EthKey k = fromPrivateKey(secret);
      wipe(secret.data(), secret.size());
      return k;
    }
  }
}

EthKey EthKey::fromPrivateKey(const Hash32& secret, std::string_view what) {
  if (!secp256k1_ec_seckey_verify(ctx(), secret.data())) {
    throw UsageError(
        fmt::format("{} is not a valid secp256k1 key (zero or not below the curve order)", what));
  }
  secp256k1_pubkey pub;
  if (!secp256k1_ec_pubkey_create(ctx(), &pub, secret.data())) {
    throw UsageError(fmt::format("{}: cannot derive its public key", what));
  }
  EthKey k;
  k.secret_ = secret;
  k.address_ = addressOf(pub);
  return k;
}

EthKey EthKey::fromHex(std::string_view hex, std::string_view what) {
  Hash32 secret{};
  try {
    secret = fixedFromHex<32>(hex, what);
  } catch (const InvalidArgument&) {
    // Not echoed: the text may be a secret, or binary garbage.
    throw UsageError(fmt::format("{} must be 64 hex digits (0x-prefixed or not)", what));
  }
  EthKey k = fromPrivateKey(secret, what);
  wipe(secret.data(), secret.size());
  return k;
}

EthKey EthKey::load(const std::string& path) {
  std::string addr_text, secret_hex, field, value;
  for (auto& line : readPrivateFileLines(path, "mlcp bridge key new")) {
    if (!splitField(line, &field, &value)) {
      secret_hex = line;  // the bare one-line form
    } else if (field == "address") {
      addr_text = value;
    } else if (field == "private") {
      secret_hex = value;
    } else {
      throw UsageError(fmt::format(
          "key file {} is not an mlcp chain key: it has a field other than 'address' and 'private'",
          path));
    }
    wipe(line.data(), line.size());
  }
  if (secret_hex.empty()) throw UsageError(fmt::format("key file {} has no 'private:' line", path));
  EthKey k = fromHex(secret_hex, fmt::format("the private key in {}", path));
  wipe(secret_hex.data(), secret_hex.size());
  if (!addr_text.empty()) {
    Address a = parseAddress(addr_text, fmt::format("the 'address:' line of key file {}", path));
    if (a != k.address()) {
      throw UsageError(fmt::format(
          "key file {} is inconsistent: its 'address:' line {} is not the address of its key ({})",
          path, addr_text, k.addressHex()));
    }
  }
  return k;
}

void EthKey::save(const std::string& path, bool overwrite) const {
  std::string text = fmt::format(
      "# mlcp chain key (secp256k1). Keep this file private.\naddress: {}\nprivate: {}\n",
      addressHex(), toHex(secret_));
  try {
    writeFileAtomic(path, text, 0600, overwrite, "key file");
  } catch (...) {
    wipe(text.data(), text.size());
    throw;
  }
  wipe(text.data(), text.size());
}

Signature EthKey::sign(const Hash32& digest) const {
  secp256k1_ecdsa_recoverable_signature rs;
  if (!secp256k1_ecdsa_sign_recoverable(ctx(), &rs, digest.data(), secret_.data(), nullptr,
                                        nullptr)) {
    throw VerificationError("secp256k1 signing failed");
  }
  uint8_t compact[64];
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx(), compact, &recid, &rs);
  Signature sig;
  std::copy(compact, compact + 32, sig.r.begin());
  std::copy(compact + 32, compact + 64, sig.s.begin());
  sig.recovery_id = static_cast<uint8_t>(recid);
  return sig;
}

Address recoverAddress(const Hash32& digest, const Signature& sig) {
  uint8_t compact[64];
  std::copy(sig.r.begin(), sig.r.end(), compact);
  std::copy(sig.s.begin(), sig.s.end(), compact + 32);
  secp256k1_ecdsa_recoverable_signature rs;
  if (sig.recovery_id > 3 ||
      !secp256k1_ecdsa_recoverable_signature_parse_compact(ctx(), &rs, compact, sig.recovery_id)) {
    throw VerificationError("malformed secp256k1 signature");
  }
  secp256k1_pubkey pub;
  if (!secp256k1_ecdsa_recover(ctx(), &pub, &rs, digest.data())) {
    throw VerificationError("no public key recovers from this signature and digest");
  }
  return addressOf(pub);
}

}  // namespace mlcp::bridge
