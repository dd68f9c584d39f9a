// The volunteer handshake: mutual authentication of a volunteer (client, initiator) and a job
// (server, responder) by their ed25519 node keys (verify/node_key.h), over ephemeral X25519 —
// the XX pattern of Noise with signatures in place of static DH (SIGMA-I): both identities travel
// encrypted, each side signs the transcript, and the session keys come from the ephemeral
// exchange and the whole transcript. Pure: these classes make and read frames; session.h moves
// them over UCX.
//
// Notation: H = BLAKE2b-256; KDF(dh, x) = BLAKE2b-512 keyed with dh over x, split into two
// 32-byte keys; box = ChaCha20-Poly1305-IETF with nonce 0 (each handshake key seals one box);
// Sign = ed25519 over a domain-separated label | hash. h0 = H("mlcp volunteer v1 handshake").
//
//  1. Volunteer: makes an ephemeral X25519 key pair (e_c, E_c) and sends
//     ClientHello {cipher suites it has, E_c, job id}.        h1 = H(h0 | ClientHello frame)
//  2. Job: refuses in plain (Reject, then nothing more) an unknown wire version, another job id,
//     or no common cipher suite; picks the suite (AES-256-GCM if both have it, else
//     ChaCha20-Poly1305); makes (e_s, E_s); dh = X25519(e_s, E_c) (an all-zero result, a
//     low-order point, ends the handshake with no reply); (k_s, k_c) = KDF(dh, "hs" | h1 | E_s);
//     h2 = H(h1 | suite | E_s | job key); sig_s = Sign_job("...server signature" | h2);
//     sends ServerHello {suite, E_s, box_k_s(AD = h1 | suite | E_s; job key | sig_s)}.
//  3. Volunteer: refuses a suite it did not offer; computes dh and (k_s, k_c); opens the box;
//     verifies sig_s over h2 and, when it was given one, that the job key is the expected one;
//     h2' = H(h2 | sig_s); h3 = H(h2' | volunteer key); sig_c = Sign_vol("...client signature" |
//     h3); sends ClientAuth {box_k_c(AD = h2'; volunteer key | sig_c)}.
//  4. Job: opens the box and verifies sig_c over h3 (a failure ends the handshake with no reply);
//     session id hF = H(h3 | sig_c); (key volunteer->job, key job->volunteer) =
//     KDF(dh, "session" | hF). Only now, with the volunteer's key proven, it asks the allowlist:
//     a key not on it gets a sealed Reject(kNotAllowed) and nothing else — no job data, no
//     state, no work — and the job logs the refusal; an allowed key gets a sealed
//     Ack(ClientAuth). Both are message 0 of the job's direction (secure_channel.h).
//  5. Volunteer: opens that message with the session keys: Ack -> the session is established;
//     Reject -> UsageError naming the reason.
// Every value a side receives is bound into what it signs or into the keys: a changed byte
// anywhere fails a box, a signature or the first sealed message.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "verify/node_key.h"
#include "volunteer/secure_channel.h"
#include "volunteer/wire.h"

namespace mlcp::volunteer {

// The job's allowlist: true when this (proven) volunteer key may join.
using AllowFn = std::function<bool(const verify::PublicKey& volunteer_key)>;

// What the responder answers to one handshake frame.
struct HandshakeReply {
  Buffer frame;          // send this to the volunteer (empty: send nothing)
  bool refused = false;  // the handshake ends here (after sending `frame`)
  RejectReason reason = RejectReason::kMalformed;
  std::string why;  // the refusal as one sentence, for the job's log
};

class HandshakeInitiator {
 public:
  // `expected_job_key`: when given, step 3 refuses any other job key (VerificationError).
  HandshakeInitiator(const verify::KeyPair& identity, std::string job_id,
                     std::optional<verify::PublicKey> expected_job_key = std::nullopt,
                     uint32_t cipher_suites = availableCipherSuites());
  ~HandshakeInitiator();  // wipes the ephemeral secret
  HandshakeInitiator(const HandshakeInitiator&) = delete;
  HandshakeInitiator& operator=(const HandshakeInitiator&) = delete;

  // Step 1: the ClientHello frame.
  Buffer start();
  // Step 3: reads the job's answer; returns the ClientAuth frame. Throws UsageError for a plain
  // Reject (wrong job, version, cipher), VerificationError for a box or signature that fails or
  // an unexpected job key, CommError for anything malformed.
  Buffer onServerHello(const uint8_t* frame, size_t size);
  // Step 5: reads the job's verdict; returns the established channel. Throws UsageError when the
  // job refused this volunteer (reason in the message).
  SecureChannel finish(Buffer frame);

  // The job's key, proven in step 3.
  const verify::PublicKey& jobKey() const { return keys_.peer_key; }

 private:
  enum class Stage { kStart, kHello, kAuth, kDone };
  Stage stage_ = Stage::kStart;
  verify::KeyPair identity_;
  std::optional<verify::PublicKey> expected_job_key_;
  uint32_t cipher_suites_;
  std::array<uint8_t, 32> e_secret_{}, e_public_{};
  Hash256 h1_;
  SessionKeys keys_;
};

class HandshakeResponder {
 public:
  HandshakeResponder(const verify::KeyPair& identity, std::string job_id, AllowFn allow,
                     uint32_t cipher_suites = availableCipherSuites());
  ~HandshakeResponder();  // wipes the ephemeral secret and the handshake keys
  HandshakeResponder(const HandshakeResponder&) = delete;
  HandshakeResponder& operator=(const HandshakeResponder&) = delete;

  // Step 2. Throws CommError for a malformed frame (nothing is sent back then); a policy refusal
  // comes back as a reply with `refused`.
  HandshakeReply onClientHello(const uint8_t* frame, size_t size);
  // Step 4. Throws VerificationError when the box or the signature fails, CommError when
  // malformed (nothing is sent back then); a key off the allowlist comes back as a refused reply
  // whose frame is the sealed Reject.
  HandshakeReply onClientAuth(const uint8_t* frame, size_t size);
  // After step 4 accepted: the established channel (once).
  SecureChannel takeChannel();

  // The volunteer's key, proven in step 4 (valid once onClientAuth did not throw).
  const verify::PublicKey& volunteerKey() const { return keys_.peer_key; }

 private:
  enum class Stage { kHello, kAuth, kAccepted, kDone };
  Stage stage_ = Stage::kHello;
  verify::KeyPair identity_;
  AllowFn allow_;
  uint32_t cipher_suites_;
  std::array<uint8_t, 32> dh_{}, k_client_{};
  Hash256 h2_prime_;
  SessionKeys keys_;
  std::optional<SecureChannel> channel_;
};

}  // namespace mlcp::volunteer
