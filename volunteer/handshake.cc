#include "volunteer/handshake.h"

#include <fmt/format.h>
#include <sodium.h>

#include <cstring>
#include <initializer_list>
#include <utility>

#include "base/error.h"
#include "base/hex.h"
#include "base/sodium.h"

namespace mlcp::volunteer {
namespace {

constexpr char kH0Label[] = "mlcp volunteer v1 handshake";
constexpr char kServerSignatureLabel[] = "mlcp volunteer v1 server signature";
constexpr char kClientSignatureLabel[] = "mlcp volunteer v1 client signature";
constexpr size_t kIdentityPlainBytes = 32 + 64;
static_assert(kIdentityPlainBytes + crypto_aead_chacha20poly1305_ietf_ABYTES ==
              kSealedIdentityBytes);

using Key32 = std::array<uint8_t, 32>;
using Part = std::pair<const void*, size_t>;

template <size_t N>
Part part(const std::array<uint8_t, N>& a) {
  return {a.data(), N};
}
Part part(const Hash256& h) { return {h.bytes.data(), h.bytes.size()}; }

Hash256 mix(const Hash256& h, std::initializer_list<Part> parts) {
  Blake2b256 b;
  b.update(h.bytes.data(), h.bytes.size());
  for (const Part& p : parts) b.update(p.first, p.second);
  return b.finish();
}

Hash256 h0() { return blake2b256(kH0Label); }

// BLAKE2b-512 keyed with `dh` over label | parts, split into two 32-byte keys.
void kdf(const Key32& dh, const char* label, std::initializer_list<Part> parts, Key32& first,
         Key32& second) {
  crypto_generichash_state state;
  uint8_t out[64];
  crypto_generichash_init(&state, dh.data(), dh.size(), sizeof(out));
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(label), std::strlen(label));
  for (const Part& p : parts) {
    crypto_generichash_update(&state, static_cast<const uint8_t*>(p.first), p.second);
  }
  crypto_generichash_final(&state, out, sizeof(out));
  std::memcpy(first.data(), out, 32);
  std::memcpy(second.data(), out + 32, 32);
  sodium_memzero(out, sizeof(out));
  sodium_memzero(&state, sizeof(state));
}

std::array<uint8_t, 2> suiteBytes(uint16_t suite) {
  return {static_cast<uint8_t>(suite & 0xff), static_cast<uint8_t>(suite >> 8)};
}

// ed25519 over label | hash.
verify::Signature signTranscript(const verify::KeyPair& key, const char* label, const Hash256& h) {
  std::string msg(label);
  msg.append(reinterpret_cast<const char*>(h.bytes.data()), h.bytes.size());
  return key.sign(msg);
}

bool verifyTranscript(const verify::PublicKey& key, const char* label, const Hash256& h,
                      const verify::Signature& sig) {
  std::string msg(label);
  msg.append(reinterpret_cast<const char*>(h.bytes.data()), h.bytes.size());
  return verify::verifySignature(key, msg, sig);
}

void makeEphemeral(Key32& secret, Key32& pub) {
  randombytes_buf(secret.data(), secret.size());
  crypto_scalarmult_base(pub.data(), secret.data());
}

// The sealed identity box (ChaCha20-Poly1305-IETF, nonce 0: each handshake key seals one box).
std::array<uint8_t, kSealedIdentityBytes> sealIdentity(const Key32& key, const Buffer& ad,
                                                       const verify::PublicKey& identity,
                                                       const verify::Signature& sig) {
  uint8_t plain[kIdentityPlainBytes];
  std::memcpy(plain, identity.data(), 32);
  std::memcpy(plain + 32, sig.data(), 64);
  const uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {0};
  std::array<uint8_t, kSealedIdentityBytes> box{};
  unsigned long long len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(box.data(), &len, plain, sizeof(plain), ad.data(),
                                            ad.size(), nullptr, nonce, key.data());
  return box;
}

bool openIdentity(const Key32& key, const Buffer& ad,
                  const std::array<uint8_t, kSealedIdentityBytes>& box, verify::PublicKey& identity,
                  verify::Signature& sig) {
  uint8_t plain[kIdentityPlainBytes];
  const uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {0};
  unsigned long long len = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(plain, &len, nullptr, box.data(), box.size(),
                                                ad.data(), ad.size(), nonce, key.data()) != 0) {
    return false;
  }
  std::memcpy(identity.data(), plain, 32);
  std::memcpy(sig.data(), plain + 32, 64);
  return true;
}

Buffer concat(std::initializer_list<Part> parts) {
  Buffer out;
  for (const Part& p : parts) {
    const auto* b = static_cast<const uint8_t*>(p.first);
    out.insert(out.end(), b, b + p.second);
  }
  return out;
}

std::string keyHex(const verify::PublicKey& k) { return hexEncode(k.data(), k.size()); }

bool knownSuite(uint16_t s) {
  return s == static_cast<uint16_t>(CipherSuite::kChaCha20Poly1305) ||
         s == static_cast<uint16_t>(CipherSuite::kAes256Gcm);
}

}  // namespace

// ---- the volunteer's side -------------------------------------------------------------------

HandshakeInitiator::HandshakeInitiator(const verify::KeyPair& identity, std::string job_id,
                                       std::optional<verify::PublicKey> expected_job_key,
                                       uint32_t cipher_suites)
    : identity_(identity), expected_job_key_(expected_job_key), cipher_suites_(cipher_suites) {
  ensureSodium();
  require(job_id.size() <= kMaxJobIdBytes,
          fmt::format("job id of {} bytes exceeds the limit of {}", job_id.size(), kMaxJobIdBytes));
  require((cipher_suites & availableCipherSuites()) != 0 && (cipher_suites & ~3u) == 0,
          "HandshakeInitiator: no usable cipher suite offered");
  keys_.job_id = std::move(job_id);
  keys_.job_side = false;
}

HandshakeInitiator::~HandshakeInitiator() { sodium_memzero(e_secret_.data(), e_secret_.size()); }

Buffer HandshakeInitiator::start() {
  require(stage_ == Stage::kStart, "HandshakeInitiator::start called twice");
  makeEphemeral(e_secret_, e_public_);
  ClientHello hello;
  hello.cipher_suites = cipher_suites_;
  hello.ephemeral = e_public_;
  hello.job_id = keys_.job_id;
  Buffer frame = encode(hello);
  h1_ = mix(h0(), {{frame.data(), frame.size()}});
  stage_ = Stage::kHello;
  return frame;
}

Buffer HandshakeInitiator::onServerHello(const uint8_t* frame, size_t size) {
  require(stage_ == Stage::kHello, "HandshakeInitiator::onServerHello out of order");
  stage_ = Stage::kDone;  // any failure ends the handshake
  const FrameHeader fh = decodeFrameHeader(frame, size);
  if (fh.type == MessageType::kReject && fh.version == kWireVersion) {
    const auto r = std::get<Reject>(decodeBody(fh.type, frame + kFrameHeaderBytes, fh.body_bytes));
    throw UsageError(fmt::format("the job refused the handshake: {}{}", rejectReasonText(r.reason),
                                 r.detail.empty() ? "" : " (" + r.detail + ")"));
  }
  if (fh.version != kWireVersion) {
    throw CommError(fmt::format("the job answered in wire version {}; this build speaks {}",
                                fh.version, kWireVersion));
  }
  if (fh.type != MessageType::kServerHello) {
    throw CommError(
        fmt::format("expected the job's ServerHello, got a {}", messageTypeName(fh.type)));
  }
  const auto sh =
      std::get<ServerHello>(decodeBody(fh.type, frame + kFrameHeaderBytes, fh.body_bytes));
  if (!knownSuite(sh.cipher) || (cipher_suites_ & sh.cipher) == 0) {
    throw CommError(fmt::format("the job chose cipher suite {}, which this volunteer did not offer",
                                sh.cipher));
  }
  Key32 dh{}, k_server{}, k_client{};
  if (crypto_scalarmult(dh.data(), e_secret_.data(), sh.ephemeral.data()) != 0) {
    throw VerificationError("the job's ephemeral key is a low-order point");
  }
  sodium_memzero(e_secret_.data(), e_secret_.size());
  kdf(dh, "hs", {part(h1_), part(sh.ephemeral)}, k_server, k_client);
  const auto suite = suiteBytes(sh.cipher);
  verify::PublicKey job_key{};
  verify::Signature sig_s{};
  const bool opened = openIdentity(k_server, concat({part(h1_), part(suite), part(sh.ephemeral)}),
                                   sh.sealed_identity, job_key, sig_s);
  sodium_memzero(k_server.data(), k_server.size());
  if (!opened) {
    sodium_memzero(dh.data(), dh.size());
    throw VerificationError(
        "the job's identity box does not authenticate (handshake tampered with)");
  }
  const Hash256 h2 = mix(h1_, {part(suite), part(sh.ephemeral), part(job_key)});
  if (!verifyTranscript(job_key, kServerSignatureLabel, h2, sig_s)) {
    sodium_memzero(dh.data(), dh.size());
    throw VerificationError(
        fmt::format("the job's handshake signature does not verify (key {})", keyHex(job_key)));
  }
  if (expected_job_key_ && *expected_job_key_ != job_key) {
    sodium_memzero(dh.data(), dh.size());
    throw VerificationError(fmt::format("the job's key is {}, expected {}", keyHex(job_key),
                                        keyHex(*expected_job_key_)));
  }
  const Hash256 h2p = mix(h2, {part(sig_s)});
  const Hash256 h3 = mix(h2p, {part(identity_.publicKey())});
  const verify::Signature sig_c = signTranscript(identity_, kClientSignatureLabel, h3);
  ClientAuth auth;
  auth.sealed_identity = sealIdentity(k_client, concat({part(h2p)}), identity_.publicKey(), sig_c);
  sodium_memzero(k_client.data(), k_client.size());
  const Hash256 hf = mix(h3, {part(sig_c)});
  keys_.session_id = hf;
  keys_.cipher = static_cast<CipherSuite>(sh.cipher);
  keys_.peer_key = job_key;
  kdf(dh, "session", {part(hf)}, keys_.send_key, keys_.receive_key);
  sodium_memzero(dh.data(), dh.size());
  stage_ = Stage::kAuth;
  return encode(auth);
}

SecureChannel HandshakeInitiator::finish(Buffer frame) {
  require(stage_ == Stage::kAuth, "HandshakeInitiator::finish out of order");
  stage_ = Stage::kDone;
  SecureChannel channel(keys_);
  Message verdict = channel.open(std::move(frame));
  if (const auto* ack = std::get_if<Ack>(&verdict); ack && ack->acked == MessageType::kClientAuth) {
    return channel;
  }
  if (const auto* r = std::get_if<Reject>(&verdict)) {
    throw UsageError(fmt::format("the job refused this volunteer (key {}): {}{}",
                                 keyHex(identity_.publicKey()), rejectReasonText(r->reason),
                                 r->detail.empty() ? "" : " (" + r->detail + ")"));
  }
  throw CommError(fmt::format("expected the job's verdict on the handshake, got a {}",
                              messageTypeName(typeOf(verdict))));
}

// ---- the job's side --------------------------------------------------------------------------

HandshakeResponder::HandshakeResponder(const verify::KeyPair& identity, std::string job_id,
                                       AllowFn allow, uint32_t cipher_suites)
    : identity_(identity), allow_(std::move(allow)), cipher_suites_(cipher_suites) {
  ensureSodium();
  require(allow_ != nullptr, "HandshakeResponder: an allowlist callback is required");
  require(job_id.size() <= kMaxJobIdBytes,
          fmt::format("job id of {} bytes exceeds the limit of {}", job_id.size(), kMaxJobIdBytes));
  keys_.job_id = std::move(job_id);
  keys_.job_side = true;
}

HandshakeResponder::~HandshakeResponder() {
  sodium_memzero(dh_.data(), dh_.size());
  sodium_memzero(k_client_.data(), k_client_.size());
}

HandshakeReply HandshakeResponder::onClientHello(const uint8_t* frame, size_t size) {
  if (stage_ != Stage::kHello) throw CommError("a ClientHello out of order");
  stage_ = Stage::kDone;  // any failure ends the handshake
  auto refuse = [&](RejectReason reason, std::string why) {
    Reject r;
    r.reason = reason;
    r.rejected = MessageType::kClientHello;
    HandshakeReply reply;
    reply.frame = encode(r);
    reply.refused = true;
    reply.reason = reason;
    reply.why = std::move(why);
    return reply;
  };
  const FrameHeader fh = decodeFrameHeader(frame, size);
  if (fh.version != kWireVersion) {
    return refuse(RejectReason::kUnsupportedVersion,
                  fmt::format("the volunteer speaks wire version {}; this job speaks {}",
                              fh.version, kWireVersion));
  }
  if (fh.type != MessageType::kClientHello) {
    throw CommError(fmt::format("expected a ClientHello, got a {}", messageTypeName(fh.type)));
  }
  const auto hello =
      std::get<ClientHello>(decodeBody(fh.type, frame + kFrameHeaderBytes, fh.body_bytes));
  if (hello.job_id != keys_.job_id) {
    return refuse(RejectReason::kWrongJob,
                  fmt::format("the volunteer asked for job '{}'", hello.job_id));
  }
  const uint32_t common = hello.cipher_suites & cipher_suites_;
  uint16_t suite;
  if (common & static_cast<uint32_t>(CipherSuite::kAes256Gcm)) {
    suite = static_cast<uint16_t>(CipherSuite::kAes256Gcm);
  } else if (common & static_cast<uint32_t>(CipherSuite::kChaCha20Poly1305)) {
    suite = static_cast<uint16_t>(CipherSuite::kChaCha20Poly1305);
  } else {
    return refuse(RejectReason::kNoCommonCipher,
                  fmt::format("the volunteer offers cipher suites {:#x}, this job has {:#x}",
                              hello.cipher_suites, cipher_suites_));
  }
  const Hash256 h1 = mix(h0(), {{frame, size}});
  Key32 e_secret{}, e_public{}, k_server{};
  makeEphemeral(e_secret, e_public);
  const int rc = crypto_scalarmult(dh_.data(), e_secret.data(), hello.ephemeral.data());
  sodium_memzero(e_secret.data(), e_secret.size());
  if (rc != 0) throw VerificationError("the volunteer's ephemeral key is a low-order point");
  kdf(dh_, "hs", {part(h1), part(e_public)}, k_server, k_client_);
  const auto suite_bytes = suiteBytes(suite);
  const Hash256 h2 = mix(h1, {part(suite_bytes), part(e_public), part(identity_.publicKey())});
  const verify::Signature sig_s = signTranscript(identity_, kServerSignatureLabel, h2);
  ServerHello sh;
  sh.cipher = suite;
  sh.ephemeral = e_public;
  sh.sealed_identity = sealIdentity(k_server, concat({part(h1), part(suite_bytes), part(e_public)}),
                                    identity_.publicKey(), sig_s);
  sodium_memzero(k_server.data(), k_server.size());
  h2_prime_ = mix(h2, {part(sig_s)});
  keys_.cipher = static_cast<CipherSuite>(suite);
  stage_ = Stage::kAuth;
  HandshakeReply reply;
  reply.frame = encode(sh);
  return reply;
}

HandshakeReply HandshakeResponder::onClientAuth(const uint8_t* frame, size_t size) {
  if (stage_ != Stage::kAuth) throw CommError("a ClientAuth out of order");
  stage_ = Stage::kDone;
  const FrameHeader fh = decodeFrameHeader(frame, size);
  if (fh.version != kWireVersion || fh.type != MessageType::kClientAuth) {
    throw CommError(fmt::format("expected a ClientAuth (version {}), got a {} (version {})",
                                kWireVersion, messageTypeName(fh.type), fh.version));
  }
  const auto auth =
      std::get<ClientAuth>(decodeBody(fh.type, frame + kFrameHeaderBytes, fh.body_bytes));
  verify::PublicKey volunteer{};
  verify::Signature sig_c{};
  const bool opened =
      openIdentity(k_client_, concat({part(h2_prime_)}), auth.sealed_identity, volunteer, sig_c);
  sodium_memzero(k_client_.data(), k_client_.size());
  if (!opened) {
    throw VerificationError(
        "the volunteer's identity box does not authenticate (handshake tampered with)");
  }
  const Hash256 h3 = mix(h2_prime_, {part(volunteer)});
  if (!verifyTranscript(volunteer, kClientSignatureLabel, h3, sig_c)) {
    throw VerificationError(fmt::format(
        "the volunteer's handshake signature does not verify (key {})", keyHex(volunteer)));
  }
  const Hash256 hf = mix(h3, {part(sig_c)});
  keys_.session_id = hf;
  keys_.peer_key = volunteer;
  // KDF order: (volunteer -> job, job -> volunteer), as the volunteer derives it.
  kdf(dh_, "session", {part(hf)}, keys_.receive_key, keys_.send_key);
  sodium_memzero(dh_.data(), dh_.size());
  channel_.emplace(keys_);
  HandshakeReply reply;
  if (!allow_(volunteer)) {
    Reject r;
    r.reason = RejectReason::kNotAllowed;
    r.rejected = MessageType::kClientAuth;
    reply.frame = channel_->seal(r);
    reply.refused = true;
    reply.reason = RejectReason::kNotAllowed;
    reply.why = fmt::format("volunteer key {} is not on the allowlist of job '{}'",
                            keyHex(volunteer), keys_.job_id);
    channel_.reset();
    return reply;
  }
  Ack ack;
  ack.acked = MessageType::kClientAuth;
  reply.frame = channel_->seal(ack);
  stage_ = Stage::kAccepted;
  return reply;
}

SecureChannel HandshakeResponder::takeChannel() {
  require(stage_ == Stage::kAccepted && channel_.has_value(),
          "HandshakeResponder::takeChannel before the volunteer was accepted");
  stage_ = Stage::kDone;
  SecureChannel out = std::move(*channel_);
  channel_.reset();
  return out;
}

}  // namespace mlcp::volunteer
