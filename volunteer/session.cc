#include "volunteer/session.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/error.h"
#include "base/hex.h"

namespace mlcp::volunteer {
namespace {

// How long a refused volunteer's Reject may take to leave before the endpoint closes anyway.
constexpr auto kRefusalFlush = std::chrono::seconds(2);

// Rethrows the exception being handled with `prefix` before its message, keeping its type.
[[noreturn]] void rethrowWith(const std::string& prefix) {
  try {
    throw;
  } catch (const TimeoutError& e) {
    throw TimeoutError(prefix + e.what());
  } catch (const CommError& e) {
    throw CommError(prefix + e.what());
  } catch (const VerificationError& e) {
    throw VerificationError(prefix + e.what());
  } catch (const UsageError& e) {
    throw UsageError(prefix + e.what());
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(prefix + e.what());
  } catch (const Error& e) {
    throw Error(prefix + e.what());
  }
}

}  // namespace

ucx::EndpointOptions volunteerEndpointOptions() {
  ucx::EndpointOptions o;
  o.max_message_bytes = kMaxMessageBytes;
  o.max_queued_bytes = 4 * kMaxMessageBytes;
  o.rendezvous_threshold = size_t{1} << 20;
  o.spare_buffers = 16;
  o.max_spare_bytes = kMaxMessageBytes;
  return o;
}

Session Session::connect(ucx::Worker& worker, const std::string& host_port,
                         const verify::KeyPair& key, const ClientOptions& options,
                         ucx::Deadline deadline) {
  return initiate(worker.connect(host_port, options.endpoint), key, options, deadline);
}

Session Session::initiate(ucx::Endpoint endpoint, const verify::KeyPair& key,
                          const ClientOptions& options, ucx::Deadline deadline) {
  const std::string prefix =
      fmt::format("volunteer handshake with job '{}' at {}: ", options.job_id, endpoint.peer());
  try {
    HandshakeInitiator handshake(key, options.job_id, options.expected_job_key,
                                 options.cipher_suites);
    endpoint.send(handshake.start(), deadline);  // step 1
    Buffer hello = endpoint.receive(deadline);
    endpoint.send(handshake.onServerHello(hello.data(), hello.size()), deadline);  // step 3
    SecureChannel channel = handshake.finish(endpoint.receive(deadline));          // step 5
    return Session(std::move(endpoint), std::move(channel));
  } catch (const Error&) {
    rethrowWith(prefix);
  }
}

Session Session::accept(ucx::Listener& listener, const verify::KeyPair& key,
                        const ServerOptions& options, ucx::Deadline deadline) {
  ucx::Endpoint endpoint = listener.accept(deadline, options.endpoint);
  return respond(std::move(endpoint), key, options,
                 std::min(deadline, ucx::deadlineIn(options.handshake_timeout)));
}

Session Session::respond(ucx::Endpoint endpoint, const verify::KeyPair& key,
                         const ServerOptions& options, ucx::Deadline deadline) {
  ServerOptions bounded = options;
  bounded.handshake_timeout =
      std::min(options.handshake_timeout,
               std::chrono::duration_cast<std::chrono::milliseconds>(ucx::remaining(deadline)));
  PendingSession pending(std::move(endpoint), key, bounded);
  for (;;) {
    if (auto session = pending.waitAndHandle()) return std::move(*session);
  }
}

PendingSession::PendingSession(ucx::Endpoint endpoint, const verify::KeyPair& key,
                               const ServerOptions& options)
    : endpoint_(std::move(endpoint)),
      options_(options),
      handshake_(std::make_unique<HandshakeResponder>(key, options.job_id, options.allow,
                                                      options.cipher_suites)),
      deadline_(ucx::deadlineIn(options.handshake_timeout)) {}

PendingSession::PendingSession(PendingSession&&) noexcept = default;
PendingSession& PendingSession::operator=(PendingSession&&) noexcept = default;
PendingSession::~PendingSession() = default;

void PendingSession::failWith(const std::string& prefix) {
  handshake_.reset();
  try {
    throw;
  } catch (const Error& e) {
    if (options_.log) options_.log(prefix + e.what());
  }
  rethrowWith(prefix);
}

std::optional<Session> PendingSession::poll() {
  if (!handshake_) throw CommError("volunteer handshake from " + peer() + ": already finished");
  std::optional<Buffer> frame;
  try {
    frame = endpoint_.tryReceive();
    if (!frame && ucx::Clock::now() >= deadline_) {
      throw TimeoutError(
          fmt::format("no handshake message within {} ms", options_.handshake_timeout.count()));
    }
  } catch (const Error&) {
    failWith(fmt::format("volunteer handshake from {}: ", peer()));
  }
  if (!frame) return std::nullopt;
  return onFrame(std::move(*frame));
}

std::optional<Session> PendingSession::waitAndHandle() {
  if (!handshake_) throw CommError("volunteer handshake from " + peer() + ": already finished");
  Buffer frame;
  try {
    frame = endpoint_.receive(deadline_);
  } catch (const Error&) {
    failWith(fmt::format("volunteer handshake from {}: ", peer()));
  }
  return onFrame(std::move(frame));
}

std::optional<Session> PendingSession::onFrame(Buffer frame) {
  const std::string prefix = fmt::format("volunteer handshake from {}: ", peer());
  try {
    if (!handshake_) throw CommError("already finished");
    HandshakeReply reply = step_ == 2 ? handshake_->onClientHello(frame.data(), frame.size())
                                      : handshake_->onClientAuth(frame.data(), frame.size());
    if (!reply.frame.empty()) endpoint_.send(std::move(reply.frame), deadline_);
    if (reply.refused) {
      try {
        endpoint_.close(std::min(deadline_, ucx::deadlineIn(kRefusalFlush)));
      } catch (const Error&) {
        // The refusal is what matters; a volunteer that does not take its Reject loses it.
      }
      if (reply.reason == RejectReason::kNotAllowed) throw VerificationError(reply.why);
      throw CommError("refused: " + reply.why);
    }
    if (step_ == 2) {
      step_ = 4;
      return std::nullopt;
    }
    Session session(std::move(endpoint_), handshake_->takeChannel());
    handshake_.reset();
    return session;
  } catch (const Error&) {
    failWith(prefix);
  }
}

ucx::Request Session::sendAsync(const Message& message, Buffer storage) {
  return endpoint_.sendAsync(channel_.seal(message, std::move(storage)));
}

void Session::send(const Message& message, ucx::Deadline deadline) {
  sendAsync(message).wait(deadline);
}

Message Session::open(Buffer frame) {
  try {
    Message m = channel_.openInPlace(frame);
    endpoint_.recycle(std::move(frame));  // the next message may land in it
    return m;
  } catch (const Error& e) {
    // The channel is broken for good; so is the connection.
    endpoint_.fail(e.what());
    rethrowWith(fmt::format("session with {} (key {}): ", endpoint_.peer(),
                            hexEncode(peerKey().data(), peerKey().size()).substr(0, 16)));
  }
}

Message Session::receive(ucx::Deadline deadline) {
  if (!channel_.broken().empty()) throw CommError("session closed: " + channel_.broken());
  return open(endpoint_.receive(deadline));
}

std::optional<Message> Session::tryReceive() {
  if (!channel_.broken().empty()) throw CommError("session closed: " + channel_.broken());
  std::optional<Buffer> frame = endpoint_.tryReceive();
  if (!frame) return std::nullopt;
  return open(std::move(*frame));
}

}  // namespace mlcp::volunteer
