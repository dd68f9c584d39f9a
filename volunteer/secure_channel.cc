#include "volunteer/secure_channel.h"

#include <fmt/format.h>
#include <sodium.h>

#include <cstring>

#include "base/error.h"
#include "volunteer/wire_io.h"

namespace mlcp::volunteer {
namespace {

constexpr char kRecordLabel[] = "mlcp volunteer v1 record";

bool isSessionMessage(MessageType t) {
  return t >= MessageType::kWelcome && t <= MessageType::kBye;
}

struct SealedHeader {
  MessageType inner = MessageType::kAck;
  uint16_t reserved = 0;
  uint64_t sequence = 0;
  uint64_t step = 0;
  uint64_t micro_batch = 0;
};

AeadNonce nonceFor(uint64_t sequence) {
  AeadNonce nonce{};
  std::memcpy(nonce.data(), &sequence, 8);
  return nonce;
}

}  // namespace

SessionKeys::~SessionKeys() {
  sodium_memzero(send_key.data(), send_key.size());
  sodium_memzero(receive_key.data(), receive_key.size());
}

struct SecureChannel::Impl {
  SessionKeys keys;
  Aead send_aead, receive_aead;  // the keys of both directions, expanded once
  Buffer ad_prefix_send, ad_prefix_receive;
  uint64_t next_send = 0, next_receive = 0;
  std::string broken;

  explicit Impl(const SessionKeys& k)
      : keys(k), send_aead(k.cipher, k.send_key), receive_aead(k.cipher, k.receive_key) {
    // The Aeads hold the expanded keys; no second copy of the raw ones stays in memory.
    sodium_memzero(keys.send_key.data(), keys.send_key.size());
    sodium_memzero(keys.receive_key.data(), keys.receive_key.size());
  }

  Buffer adPrefix(uint8_t direction) const {
    Buffer ad;
    WireWriter w(ad);
    w.put(kRecordLabel, sizeof(kRecordLabel) - 1);
    w.fixed(keys.session_id.bytes);
    w.u8(direction);
    w.shortString(keys.job_id);
    return ad;
  }

  void requireIntact() const {
    if (!broken.empty()) {
      throw CommError(fmt::format("the session is closed after an earlier failure: {}", broken));
    }
  }
};

SecureChannel::SecureChannel(const SessionKeys& keys) {
  require(keys.job_id.size() <= kMaxJobIdBytes, "SecureChannel: job id too long");
  impl_ = std::make_unique<Impl>(keys);
  // Direction byte: 0 for volunteer -> job, 1 for job -> volunteer.
  const uint8_t send_dir = keys.job_side ? 1 : 0;
  impl_->ad_prefix_send = impl_->adPrefix(send_dir);
  impl_->ad_prefix_receive = impl_->adPrefix(1 - send_dir);
}

SecureChannel::~SecureChannel() = default;
SecureChannel::SecureChannel(SecureChannel&&) noexcept = default;
SecureChannel& SecureChannel::operator=(SecureChannel&&) noexcept = default;

Buffer SecureChannel::seal(const Message& message, Buffer storage) {
  require(impl_ != nullptr, "SecureChannel::seal on a moved-from channel");
  impl_->requireIntact();
  const MessageType type = typeOf(message);
  require(isSessionMessage(type),
          fmt::format("SecureChannel::seal: a {} message is not sealed", messageTypeName(type)));
  const size_t body = bodyBytes(message);
  const size_t total = kFrameHeaderBytes + kSealedHeaderBytes + body + kAeadTagBytes;
  require(total <= kMaxMessageBytes,
          fmt::format("volunteer wire: a sealed {} message of {} bytes exceeds the limit of {} "
                      "bytes; split it into chunks",
                      messageTypeName(type), total, kMaxMessageBytes));
  // Step 1.
  const uint64_t n = impl_->next_send;
  // Step 2: headers, then the plaintext body in place.
  Buffer out = std::move(storage);
  out.clear();
  out.reserve(total);
  writeFrameHeader(
      {kWireVersion, MessageType::kSealed, static_cast<uint32_t>(total - kFrameHeaderBytes)}, out);
  const MessageContext ctx = contextOf(message);
  WireWriter w(out);
  w.u16(static_cast<uint16_t>(type));
  w.u16(0);
  w.u64(n);
  w.u64(ctx.step);
  w.u64(ctx.micro_batch);
  const size_t body_at = out.size();
  encodeBody(message, out);
  // Step 3.
  Buffer ad = impl_->ad_prefix_send;
  ad.insert(ad.end(), out.begin(), out.begin() + body_at);
  // Step 4: encrypt in place, tag after the ciphertext.
  const auto nonce = nonceFor(n);
  out.resize(total);
  uint8_t* text = out.data() + body_at;
  uint8_t* tag = text + body;
  impl_->send_aead.seal(nonce, ad.data(), ad.size(), text, body, tag);
  ++impl_->next_send;
  return out;
}

Message SecureChannel::openInPlace(Buffer& frame) {
  require(impl_ != nullptr, "SecureChannel::open on a moved-from channel");
  impl_->requireIntact();
  try {
    // Step 1.
    const FrameHeader fh = decodeFrameHeader(frame.data(), frame.size());
    WireReader r(frame.data() + kFrameHeaderBytes, fh.body_bytes, "Sealed message");
    if (fh.version != kWireVersion) {
      r.fail("version", fmt::format("wire version {}; this build speaks version {}", fh.version,
                                    kWireVersion));
    }
    if (fh.type != MessageType::kSealed) {
      r.fail("type",
             fmt::format("a {} message where a sealed one was due", messageTypeName(fh.type)));
    }
    if (fh.body_bytes < kSealedHeaderBytes + kAeadTagBytes) {
      r.fail(
          "body length",
          fmt::format("{} bytes cannot hold the sealed header and tag (truncated)", fh.body_bytes));
    }
    // Step 2.
    SealedHeader sh;
    sh.inner = static_cast<MessageType>(r.u16("inner type"));
    sh.reserved = r.u16("reserved");
    sh.sequence = r.u64("sequence");
    sh.step = r.u64("step");
    sh.micro_batch = r.u64("micro_batch");
    if (sh.reserved != 0) r.fail("reserved", "must be 0");
    const uint64_t expected = impl_->next_receive;
    if (sh.sequence < expected) {
      throw VerificationError(
          fmt::format("replayed message: sequence number {} was already received (expected {})",
                      sh.sequence, expected));
    }
    if (sh.sequence > expected) {
      throw VerificationError(
          fmt::format("reordered or dropped message: sequence number {} arrived where {} was due",
                      sh.sequence, expected));
    }
    // Step 3.
    const size_t header_end = kFrameHeaderBytes + kSealedHeaderBytes;
    const size_t body = fh.body_bytes - kSealedHeaderBytes - kAeadTagBytes;
    Buffer ad = impl_->ad_prefix_receive;
    ad.insert(ad.end(), frame.begin(), frame.begin() + header_end);
    const auto nonce = nonceFor(sh.sequence);
    uint8_t* text = frame.data() + header_end;
    const uint8_t* tag = text + body;
    if (!impl_->receive_aead.open(nonce, ad.data(), ad.size(), text, body, tag)) {
      throw VerificationError(fmt::format(
          "message {} does not authenticate: forged, corrupted, or sealed by another session",
          sh.sequence));
    }
    // Step 4.
    if (!isSessionMessage(sh.inner)) {
      throw CommError(
          fmt::format("a sealed {} message: not a session message", messageTypeName(sh.inner)));
    }
    Message m = decodeBody(sh.inner, text, body);
    const MessageContext ctx = contextOf(m);
    if (ctx.step != sh.step || ctx.micro_batch != sh.micro_batch) {
      throw CommError(fmt::format(
          "sealed {} message: its header says step {} micro-batch {}, its body step {} "
          "micro-batch {}",
          messageTypeName(sh.inner), sh.step, sh.micro_batch, ctx.step, ctx.micro_batch));
    }
    // Step 5.
    ++impl_->next_receive;
    return m;
  } catch (const Error& e) {
    impl_->broken = e.what();
    throw;
  }
}

const Hash256& SecureChannel::sessionId() const { return impl_->keys.session_id; }
const std::string& SecureChannel::jobId() const { return impl_->keys.job_id; }
const verify::PublicKey& SecureChannel::peerKey() const { return impl_->keys.peer_key; }
CipherSuite SecureChannel::cipher() const { return impl_->keys.cipher; }
uint64_t SecureChannel::sent() const { return impl_->next_send; }
uint64_t SecureChannel::received() const { return impl_->next_receive; }
const std::string& SecureChannel::broken() const { return impl_->broken; }

}  // namespace mlcp::volunteer
