// The record layer of a volunteer session: every message after the handshake is a Sealed frame,
// authenticated-encrypted under the session's per-direction key, bound to its context, and
// numbered. The keys come from the handshake (handshake.h); this layer does no I/O.
//
// Seal (message m, this side's direction d: 0 volunteer->job, 1 job->volunteer):
//   1. n = the next sequence number of direction d (0, 1, 2, ... per session).
//   2. Frame header {version 1, type Sealed, body length = 28 + |body(m)| + 16} and sealed header
//      {inner type, 0, n, step(m), micro_batch(m)} (wire.h).
//   3. AD = "mlcp volunteer v1 record" | session id (32) | d | job id (str16) | frame header |
//      sealed header: the job, the session, the direction, the message type, its step and
//      micro-batch, its length and its number are all authenticated.
//   4. nonce = n (u64 LE) | 0 (u32); ciphertext | tag = AEAD(key_d, nonce, AD, body(m)) with the
//      session's cipher suite (aead.h: ChaCha20-Poly1305-IETF, or AES-256-GCM where both sides
//      have AES-NI). One key per direction and a counter nonce: no nonce is ever used twice.
// Open (a frame from the peer):
//   1. The frame header: magic, exact length, version 1, type Sealed, room for header and tag.
//   2. The sealed header: its sequence number must be exactly the next one expected; a smaller
//      one is a replay, a larger one a reordered or dropped message. Rejected before decrypting.
//   3. Verify and decrypt (AD and nonce as above): a frame of another session, another
//      direction, another job, or with any bit changed fails here.
//   4. Decode the inner body; it must be a session message (Welcome..Bye) whose step and
//      micro-batch equal the sealed header's.
//   5. Count the sequence number as received.
// Any failure throws (CommError for framing, VerificationError for authentication) and breaks
// the channel for good: every later seal() or open() throws. A peer that sends one bad frame is
// broken or attacked; the session must be closed and, if wanted, started again.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "base/digest.h"
#include "verify/node_key.h"
#include "volunteer/aead.h"
#include "volunteer/wire.h"

namespace mlcp::volunteer {

// What a handshake agrees on. Secret: the destructor wipes the keys.
struct SessionKeys {
  Hash256 session_id;  // the final transcript hash: unique per session
  std::string job_id;
  CipherSuite cipher = CipherSuite::kChaCha20Poly1305;
  bool job_side = false;  // this side is the job (server); false: the volunteer (client)
  verify::PublicKey peer_key{};
  AeadKey send_key{};
  AeadKey receive_key{};

  SessionKeys() = default;
  SessionKeys(const SessionKeys&) = default;
  SessionKeys& operator=(const SessionKeys&) = default;
  ~SessionKeys();
};

class SecureChannel {
 public:
  explicit SecureChannel(const SessionKeys& keys);
  ~SecureChannel();
  SecureChannel(SecureChannel&&) noexcept;
  SecureChannel& operator=(SecureChannel&&) noexcept;
  SecureChannel(const SecureChannel&) = delete;
  SecureChannel& operator=(const SecureChannel&) = delete;

  // Seal steps 1-4. `message` must be a session message (Welcome..Bye): InvalidArgument
  // otherwise, or when it exceeds kMaxMessageBytes once sealed. The frame is written into
  // `storage` (its contents are dropped, its allocation reused: pass a buffer a completed send
  // gave back, Request::takeBuffer, to seal large messages without a fresh allocation each).
  Buffer seal(const Message& message, Buffer storage = {});
  // Open steps 1-5; decrypts in place in `frame`.
  Message open(Buffer frame) { return openInPlace(frame); }
  // The same, leaving the (decrypted) buffer to the caller to reuse.
  Message openInPlace(Buffer& frame);

  const Hash256& sessionId() const;
  const std::string& jobId() const;
  const verify::PublicKey& peerKey() const;
  CipherSuite cipher() const;
  uint64_t sent() const;      // messages sealed
  uint64_t received() const;  // messages opened
  // Why the channel broke ("" while it has not).
  const std::string& broken() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mlcp::volunteer
