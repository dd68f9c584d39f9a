// The volunteer handshake (volunteer/handshake.h) and record layer (volunteer/secure_channel.h)
// as pure functions, frames handed over in memory: who may join, what an attacker who changes,
// replays, reorders, truncates or transplants bytes gets (an error, never a message).
#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/hex.h"
#include "volunteer/handshake.h"
#include "volunteer/secure_channel.h"
#include "volunteer/wire.h"

namespace {

using namespace mlcp::volunteer;
using mlcp::CommError;
using mlcp::UsageError;
using mlcp::VerificationError;
using mlcp::verify::KeyPair;
using mlcp::verify::PublicKey;

const uint32_t kChaCha = static_cast<uint32_t>(CipherSuite::kChaCha20Poly1305);
const uint32_t kAes = static_cast<uint32_t>(CipherSuite::kAes256Gcm);

KeyPair keyOf(uint8_t seed) {
  std::array<uint8_t, 32> s{};
  s.fill(seed);
  return KeyPair::fromSeed(s);
}

AllowFn allowAll() {
  return [](const PublicKey&) { return true; };
}

struct Channels {
  std::optional<SecureChannel> volunteer, job;
};

struct Parties {
  KeyPair volunteer = keyOf(1);
  KeyPair job = keyOf(2);
  std::string volunteer_job_id = "job-1";
  std::string job_id = "job-1";
  uint32_t volunteer_suites = availableCipherSuites();
  uint32_t job_suites = availableCipherSuites();
  std::optional<PublicKey> expected;
  AllowFn allow = allowAll();
};

Channels handshake(const Parties& s) {
  HandshakeInitiator init(s.volunteer, s.volunteer_job_id, s.expected, s.volunteer_suites);
  HandshakeResponder resp(s.job, s.job_id, s.allow, s.job_suites);
  Buffer m1 = init.start();
  HandshakeReply r2 = resp.onClientHello(m1.data(), m1.size());
  EXPECT_FALSE(r2.refused) << r2.why;
  Buffer m3 = init.onServerHello(r2.frame.data(), r2.frame.size());
  HandshakeReply r4 = resp.onClientAuth(m3.data(), m3.size());
  EXPECT_FALSE(r4.refused) << r4.why;
  Channels c;
  c.volunteer.emplace(init.finish(std::move(r4.frame)));
  c.job.emplace(resp.takeChannel());
  return c;
}

Heartbeat beat(uint64_t n) { return Heartbeat{n, 1000 + n}; }

TEST(VolunteerHandshake, EstablishesMatchingChannelsBothWays) {
  Parties s;
  Channels c = handshake(s);
  EXPECT_EQ(c.volunteer->sessionId(), c.job->sessionId());
  EXPECT_EQ(c.volunteer->peerKey(), s.job.publicKey());
  EXPECT_EQ(c.job->peerKey(), s.volunteer.publicKey());
  EXPECT_EQ(c.volunteer->cipher(), c.job->cipher());
  const bool aes = (availableCipherSuites() & kAes) != 0;
  EXPECT_EQ(c.job->cipher(), aes ? CipherSuite::kAes256Gcm : CipherSuite::kChaCha20Poly1305);
  for (uint64_t i = 0; i < 5; ++i) {
    auto m = std::get<Heartbeat>(c.job->open(c.volunteer->seal(beat(i))));
    EXPECT_EQ(m.sequence, i);
    auto w = std::get<Assign>(c.volunteer->open(c.job->seal(Assign{i, i + 1, 500})));
    EXPECT_EQ(w.micro_batch, i + 1);
  }
  // The verdict (Ack) was the job's message 0.
  EXPECT_EQ(c.job->sent(), 6u);
  EXPECT_EQ(c.volunteer->received(), 6u);
  EXPECT_EQ(c.volunteer->sent(), 5u);
  // Two handshakes of the same keys give different sessions.
  EXPECT_NE(handshake(s).job->sessionId(), c.job->sessionId());
}

TEST(VolunteerHandshake, EitherSideCanLimitTheCipherSuites) {
  for (auto [v, j] :
       {std::pair{kChaCha, availableCipherSuites()}, std::pair{availableCipherSuites(), kChaCha}}) {
    Parties s;
    s.volunteer_suites = v;
    s.job_suites = j;
    Channels c = handshake(s);
    EXPECT_EQ(c.job->cipher(), CipherSuite::kChaCha20Poly1305);
    EXPECT_EQ(std::get<Bye>(c.job->open(c.volunteer->seal(Bye{ByeReason::kDone, "x"}))).detail,
              "x");
  }
}

TEST(VolunteerHandshake, NoCommonCipherIsRefusedInPlain) {
  if ((availableCipherSuites() & kAes) == 0) GTEST_SKIP() << "no AES-NI: one suite only";
  HandshakeInitiator init(keyOf(1), "job-1", std::nullopt, kChaCha);
  HandshakeResponder resp(keyOf(2), "job-1", allowAll(), kAes);
  Buffer m1 = init.start();
  HandshakeReply r = resp.onClientHello(m1.data(), m1.size());
  EXPECT_TRUE(r.refused);
  EXPECT_EQ(r.reason, RejectReason::kNoCommonCipher);
  EXPECT_THROW(init.onServerHello(r.frame.data(), r.frame.size()), UsageError);
}

// A key off the allowlist gets exactly one sealed Reject — no Welcome, no state, no work — and
// the job gets one sentence naming the key.
TEST(VolunteerHandshake, DisallowedKeyGetsOnlyASealedReject) {
  int asked = 0;
  Parties s;
  s.allow = [&](const PublicKey& k) {
    ++asked;
    EXPECT_EQ(k, s.volunteer.publicKey());
    return false;
  };
  HandshakeInitiator init(s.volunteer, "job-1");
  HandshakeResponder resp(s.job, "job-1", s.allow);
  Buffer m1 = init.start();
  HandshakeReply r2 = resp.onClientHello(m1.data(), m1.size());
  EXPECT_EQ(asked, 0) << "the allowlist is asked only once the key is proven";
  Buffer m3 = init.onServerHello(r2.frame.data(), r2.frame.size());
  HandshakeReply r4 = resp.onClientAuth(m3.data(), m3.size());
  EXPECT_EQ(asked, 1);
  EXPECT_TRUE(r4.refused);
  EXPECT_EQ(r4.reason, RejectReason::kNotAllowed);
  const std::string hex = mlcp::hexEncode(s.volunteer.publicKey().data(), 32);
  EXPECT_NE(r4.why.find(hex), std::string::npos) << r4.why;
  EXPECT_NE(r4.why.find("not on the allowlist of job 'job-1'"), std::string::npos) << r4.why;
  Reject reject;
  reject.reason = RejectReason::kNotAllowed;
  reject.rejected = MessageType::kClientAuth;
  EXPECT_EQ(r4.frame.size(),
            kFrameHeaderBytes + kSealedHeaderBytes + bodyBytes(reject) + kAeadTagBytes)
      << "the refusal carries nothing but the Reject";
  EXPECT_THROW(resp.takeChannel(), mlcp::InvalidArgument);
  try {
    init.finish(std::move(r4.frame));
    ADD_FAILURE() << "a refused volunteer got a channel";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("not on the job's allowlist"), std::string::npos)
        << e.what();
  }
}

TEST(VolunteerHandshake, WrongJobAndVersionAreRefusedInPlain) {
  {
    HandshakeInitiator init(keyOf(1), "other-job");
    HandshakeResponder resp(keyOf(2), "job-1", allowAll());
    Buffer m1 = init.start();
    HandshakeReply r = resp.onClientHello(m1.data(), m1.size());
    EXPECT_TRUE(r.refused);
    EXPECT_EQ(r.reason, RejectReason::kWrongJob);
    EXPECT_NE(r.why.find("'other-job'"), std::string::npos);
    try {
      init.onServerHello(r.frame.data(), r.frame.size());
      ADD_FAILURE();
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("not this job"), std::string::npos) << e.what();
    }
  }
  {
    HandshakeInitiator init(keyOf(1), "job-1");
    HandshakeResponder resp(keyOf(2), "job-1", allowAll());
    Buffer m1 = init.start();
    m1[4] = 9;  // wire version 9
    HandshakeReply r = resp.onClientHello(m1.data(), m1.size());
    EXPECT_TRUE(r.refused);
    EXPECT_EQ(r.reason, RejectReason::kUnsupportedVersion);
    EXPECT_NE(r.why.find("version 9"), std::string::npos) << r.why;
  }
}

TEST(VolunteerHandshake, VolunteerChecksTheExpectedJobKey) {
  Parties s;
  s.expected = s.job.publicKey();
  EXPECT_NO_THROW(handshake(s));
  s.expected = keyOf(9).publicKey();
  HandshakeInitiator init(s.volunteer, "job-1", s.expected);
  HandshakeResponder resp(s.job, "job-1", allowAll());
  Buffer m1 = init.start();
  HandshakeReply r2 = resp.onClientHello(m1.data(), m1.size());
  try {
    init.onServerHello(r2.frame.data(), r2.frame.size());
    ADD_FAILURE() << "an impostor job was accepted";
  } catch (const VerificationError& e) {
    EXPECT_NE(std::string(e.what()).find("the job's key is"), std::string::npos) << e.what();
  }
}

// Changing any byte of any handshake message makes the handshake fail — at the latest when the
// first sealed message is opened — and the allowlist never sees an unproven key.
TEST(VolunteerHandshake, AnyChangedByteFailsTheHandshake) {
  for (int message = 1; message <= 4; ++message) {
    size_t size = 0;
    for (size_t at = 0;; ++at) {
      int asked = 0;
      HandshakeInitiator init(keyOf(1), "job-1");
      HandshakeResponder resp(keyOf(2), "job-1", [&](const PublicKey&) {
        ++asked;
        return true;
      });
      bool completed = false;
      try {
        Buffer m1 = init.start();
        if (message == 1) {
          size = m1.size();
          m1[at] ^= 0x20;
        }
        HandshakeReply r2 = resp.onClientHello(m1.data(), m1.size());
        if (message == 2) {
          size = r2.frame.size();
          r2.frame[at] ^= 0x20;
        }
        Buffer m3 = init.onServerHello(r2.frame.data(), r2.frame.size());
        if (message == 3) {
          size = m3.size();
          m3[at] ^= 0x20;
        }
        HandshakeReply r4 = resp.onClientAuth(m3.data(), m3.size());
        if (message == 3) {
          EXPECT_EQ(asked, 0) << "byte " << at;
        }
        if (message == 4) {
          size = r4.frame.size();
          r4.frame[at] ^= 0x20;
        }
        SecureChannel v = init.finish(std::move(r4.frame));
        SecureChannel j = resp.takeChannel();
        j.open(v.seal(beat(0)));
        completed = true;
      } catch (const mlcp::Error&) {
      }
      EXPECT_FALSE(completed) << "message " << message << " byte " << at << " changed, yet the "
                              << "handshake completed";
      if (at + 1 >= size) break;
    }
  }
}

TEST(VolunteerHandshake, LowOrderEphemeralKeyIsRefused) {
  ClientHello hello;
  hello.cipher_suites = availableCipherSuites();
  hello.job_id = "job-1";  // ephemeral all zero: X25519 gives the all-zero secret
  const Buffer m1 = encode(hello);
  HandshakeResponder resp(keyOf(2), "job-1", allowAll());
  EXPECT_THROW(resp.onClientHello(m1.data(), m1.size()), VerificationError);
}

TEST(VolunteerHandshake, StepsOutOfOrderAreRefused) {
  HandshakeResponder resp(keyOf(2), "job-1", allowAll());
  const Buffer auth = encode(ClientAuth{});
  EXPECT_THROW(resp.onClientHello(auth.data(), auth.size()), CommError);
  EXPECT_THROW(resp.onClientAuth(auth.data(), auth.size()), CommError);
  HandshakeInitiator init(keyOf(1), "job-1");
  EXPECT_THROW(init.finish(Buffer()), mlcp::InvalidArgument);
}

// ---- the record layer ------------------------------------------------------------------------

std::string openError(SecureChannel& c, Buffer frame) {
  try {
    c.open(std::move(frame));
  } catch (const mlcp::Error& e) {
    return e.what();
  }
  return "";
}

TEST(VolunteerChannel, ReplayedMessageIsRefused) {
  Channels c = handshake(Parties{});
  const Buffer a = c.volunteer->seal(beat(1));
  c.job->open(a);
  const std::string e = openError(*c.job, a);
  EXPECT_NE(e.find("replayed message: sequence number 0 was already received"), std::string::npos)
      << e;
}

TEST(VolunteerChannel, ReorderedMessageIsRefused) {
  Channels c = handshake(Parties{});
  const Buffer a = c.volunteer->seal(beat(1));
  const Buffer b = c.volunteer->seal(beat(2));
  const std::string e = openError(*c.job, b);
  EXPECT_NE(e.find("reordered or dropped message: sequence number 1 arrived where 0 was due"),
            std::string::npos)
      << e;
  // And the channel is closed for good: even the right next frame is refused now.
  const std::string after = openError(*c.job, a);
  EXPECT_NE(after.find("closed after an earlier failure"), std::string::npos) << after;
  EXPECT_THROW(c.job->seal(beat(3)), CommError);
}

TEST(VolunteerChannel, TruncatedMessageIsRefused) {
  Channels c = handshake(Parties{});
  Buffer a = c.volunteer->seal(Contribution{});
  a.pop_back();
  std::string e = openError(*c.job, a);
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  // The length field fixed to match: the tag no longer authenticates.
  Channels d = handshake(Parties{});
  Buffer b = d.volunteer->seal(Contribution{});
  b.resize(b.size() - 5);
  const uint32_t body = static_cast<uint32_t>(b.size() - kFrameHeaderBytes);
  std::memcpy(b.data() + 8, &body, 4);
  e = openError(*d.job, b);
  EXPECT_NE(e.find("does not authenticate"), std::string::npos) << e;
  // Shorter than header + tag.
  Channels f = handshake(Parties{});
  Buffer tiny = f.volunteer->seal(beat(0));
  tiny.resize(kFrameHeaderBytes + 20);
  const uint32_t tiny_body = 20;
  std::memcpy(tiny.data() + 8, &tiny_body, 4);
  e = openError(*f.job, tiny);
  EXPECT_NE(e.find("cannot hold"), std::string::npos) << e;
}

TEST(VolunteerChannel, MessageFromAnotherSessionIsRefused) {
  Channels c = handshake(Parties{});
  Channels other = handshake(Parties{});  // same keys, same job: another session
  const std::string e = openError(*c.job, other.volunteer->seal(beat(0)));
  EXPECT_NE(e.find("sealed by another session"), std::string::npos) << e;
}

TEST(VolunteerChannel, ReflectedMessageIsRefused) {
  Channels c = handshake(Parties{});
  // The volunteer's own message 1 sent back to it, where the job's message 1 is due: the right
  // number, but the other direction's key and AD.
  c.volunteer->seal(beat(0));
  const std::string e = openError(*c.volunteer, c.volunteer->seal(beat(1)));
  EXPECT_NE(e.find("does not authenticate"), std::string::npos) << e;
}

TEST(VolunteerChannel, EveryChangedByteIsRefused) {
  Contribution m;
  m.step = 3;
  m.micro_batch = 4;
  m.tensors.push_back(TensorPiece{"", 0, {4}, 0, {1.f, 2.f, 3.f, 4.f}});
  Channels c = handshake(Parties{});
  const Buffer frame = c.volunteer->seal(m);
  for (size_t at = 0; at < frame.size(); ++at) {
    Channels fresh = handshake(Parties{});
    Buffer f = fresh.volunteer->seal(m);
    f[at] ^= 1;
    EXPECT_FALSE(openError(*fresh.job, f).empty()) << "byte " << at;
  }
}

TEST(VolunteerChannel, PlainFramesAreRefused) {
  Channels c = handshake(Parties{});
  const std::string e = openError(*c.job, encode(beat(0)));
  EXPECT_NE(e.find("where a sealed one was due"), std::string::npos) << e;
}

TEST(VolunteerChannel, OnlySessionMessagesAreSealed) {
  Channels c = handshake(Parties{});
  EXPECT_THROW(c.volunteer->seal(ClientHello{}), mlcp::InvalidArgument);
  EXPECT_THROW(c.volunteer->seal(ClientAuth{}), mlcp::InvalidArgument);
}

TEST(VolunteerChannel, LargestSealedMessage) {
  Channels c = handshake(Parties{});
  State s;
  s.step = 8;
  TensorPiece p{"w", 0, {}, 0, {}};
  const size_t overhead = kFrameHeaderBytes + kSealedHeaderBytes + kAeadTagBytes;
  s.tensors = {p};
  s.tensors[0].shape = {uint64_t{1} << 30};
  const size_t floats = (kMaxMessageBytes - overhead - bodyBytes(s)) / 4;
  s.tensors[0].data.assign(floats, 0.5f);
  const State back = std::get<State>(c.job->open(c.volunteer->seal(s)));
  EXPECT_EQ(back.tensors[0].data.size(), floats);
  EXPECT_EQ(back.tensors[0].data.back(), 0.5f);
  s.tensors[0].data.push_back(1.f);
  EXPECT_THROW(c.volunteer->seal(s), mlcp::InvalidArgument);
}

}  // namespace
