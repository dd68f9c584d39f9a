// A volunteer session: the handshake (handshake.h) and then sealed messages (secure_channel.h)
// over one UCX endpoint (collectives/ucx). The coordinator (job side) accepts sessions from its
// listener; the volunteer connects out to the job's address, so NAT on its side is no obstacle.
//
// Contract:
// - Threading: a Session is driven by the thread that drives its worker (ucx_worker.h).
// - Deadlines: every call takes an absolute deadline; the handshake shares one.
// - Failures: a session whose peer broke the protocol (a frame that does not authenticate, a
//   replayed, reordered or truncated message) throws once and is closed for good; the listener
//   and the other sessions carry on. A refused or failed handshake throws from accept() with the
//   peer's address and is passed to ServerOptions::log as one line: the coordinator logs it and
//   accepts the next connection.
// - A volunteer whose key is not on the allowlist gets one sealed Reject(kNotAllowed) and
//   nothing else; accept() throws VerificationError for it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "collectives/ucx/ucx_worker.h"
#include "verify/node_key.h"
#include "volunteer/handshake.h"
#include "volunteer/secure_channel.h"
#include "volunteer/wire.h"

namespace mlcp::volunteer {

namespace ucx = collectives::ucx;

// Endpoint settings for volunteer traffic: messages up to kMaxMessageBytes, at most 4 of them
// unread, and up to 16 spare receive buffers of at most 64 MiB in all (Session::receive recycles
// each frame it opened, so a peer's window of 64 KiB chunks lands in reused memory). Per session
// that bounds what a peer can make the job hold to 5 x 64 MiB; a coordinator with many
// volunteers and small models may lower them. Messages under 1 MiB (every chunk of
// tensor_transfer.h) are sent eagerly: a rendezvous would make the sender wait for a receiver
// busy opening the previous chunk (on a 10 GbE-paced link, 64 KiB chunks: 1.24 GB/s sealed
// eagerly vs 0.96-1.23 by UCX's default rendezvous; docs/performance.md).
ucx::EndpointOptions volunteerEndpointOptions();

struct ClientOptions {
  std::string job_id;
  // When set, the handshake refuses a job with any other key (VerificationError).
  std::optional<verify::PublicKey> expected_job_key;
  uint32_t cipher_suites = availableCipherSuites();
  ucx::EndpointOptions endpoint = volunteerEndpointOptions();
};

struct ServerOptions {
  std::string job_id;
  AllowFn allow;  // required: the job's allowlist
  // A handshake gets at most this long after its connection was accepted (a silent client
  // cannot hold the coordinator longer), and never beyond the call's deadline.
  std::chrono::milliseconds handshake_timeout{10000};
  uint32_t cipher_suites = availableCipherSuites();
  ucx::EndpointOptions endpoint = volunteerEndpointOptions();
  // Called with one line for each refused or failed handshake (may be empty).
  std::function<void(const std::string&)> log;
};

class Session {
 public:
  // Volunteer side: dials `host_port` and runs handshake steps 1, 3 and 5.
  static Session connect(ucx::Worker& worker, const std::string& host_port,
                         const verify::KeyPair& key, const ClientOptions& options,
                         ucx::Deadline deadline);
  // Job side: accepts the next connection and runs handshake steps 2 and 4. Throws TimeoutError
  // when no connection arrives; for a refused or failed handshake, that connection's error, its
  // message naming the peer: VerificationError (a key off the allowlist, a proof that fails),
  // CommError (refused: wrong job, version or cipher; malformed), TimeoutError (silent client).
  static Session accept(ucx::Listener& listener, const verify::KeyPair& key,
                        const ServerOptions& options, ucx::Deadline deadline);
  // The same two sides on an endpoint the caller already has.
  static Session initiate(ucx::Endpoint endpoint, const verify::KeyPair& key,
                          const ClientOptions& options, ucx::Deadline deadline);
  static Session respond(ucx::Endpoint endpoint, const verify::KeyPair& key,
                         const ServerOptions& options, ucx::Deadline deadline);

  Session(Session&&) noexcept = default;
  Session& operator=(Session&&) noexcept = default;

  // Seals (into `storage`'s allocation, see SecureChannel::seal) and sends; the request owns the
  // sealed frame (ucx_request.h).
  ucx::Request sendAsync(const Message& message, Buffer storage = {});
  void send(const Message& message, ucx::Deadline deadline);
  // The next message, opened. CommError/VerificationError when the peer broke the protocol (the
  // session is then closed for good), CommError when the connection failed, TimeoutError.
  Message receive(ucx::Deadline deadline);
  // A message if one has arrived; never blocks.
  std::optional<Message> tryReceive();
  // Delivers what was sent, then closes (the peer sees its endpoint fail).
  void close(ucx::Deadline deadline) { endpoint_.close(deadline); }

  const verify::PublicKey& peerKey() const { return channel_.peerKey(); }
  const Hash256& sessionId() const { return channel_.sessionId(); }
  const std::string& jobId() const { return channel_.jobId(); }
  CipherSuite cipher() const { return channel_.cipher(); }
  const std::string& peer() const { return endpoint_.peer(); }

  // The layers underneath, for tests and tools (e.g. to inject frames as an attacker would).
  ucx::Endpoint& endpoint() { return endpoint_; }
  SecureChannel& channel() { return channel_; }

 private:
  friend class PendingSession;
  Session(ucx::Endpoint endpoint, SecureChannel channel)
      : endpoint_(std::move(endpoint)), channel_(std::move(channel)) {}
  Message open(Buffer frame);
  ucx::Endpoint endpoint_;
  SecureChannel channel_;
};

// The job side of one handshake, driven without blocking: a coordinator that serves a training
// loop keeps several of these and polls them between its own work, so a slow or silent client
// never holds the job (Session::respond is the blocking form of the same steps).
class PendingSession {
 public:
  // `endpoint` is a connection the listener accepted; the handshake must finish within
  // options.handshake_timeout from now. `key` and `options` are copied.
  PendingSession(ucx::Endpoint endpoint, const verify::KeyPair& key, const ServerOptions& options);
  PendingSession(PendingSession&&) noexcept;
  PendingSession& operator=(PendingSession&&) noexcept;
  ~PendingSession();

  // Handles what arrived (never blocks): the established session once the volunteer proved an
  // allowed key, nothing while the handshake goes on. A refused or failed handshake — or one past
  // its time — throws as Session::respond does, after options.log had its line; the pending
  // session is then finished.
  std::optional<Session> poll();
  // The blocking form: waits for the next frame (up to the handshake's deadline), handles it.
  std::optional<Session> waitAndHandle();
  const std::string& peer() const { return endpoint_.peer(); }
  ucx::Deadline deadline() const { return deadline_; }

 private:
  std::optional<Session> onFrame(Buffer frame);
  [[noreturn]] void failWith(const std::string& prefix);

  ucx::Endpoint endpoint_;
  ServerOptions options_;
  std::unique_ptr<HandshakeResponder> handshake_;
  int step_ = 2;  // the handshake step the next frame is for (2, then 4)
  ucx::Deadline deadline_;
};

}  // namespace mlcp::volunteer
