// Volunteer sessions over real UCX on loopback (tcp on lo): a job thread and a volunteer thread,
// each with its own context and worker. The handshake both ways, a key off the allowlist, and an
// attacker on the connection (garbage, replays, reordering, truncation, a frame of another
// session) — each refused with a clear error while the listener goes on accepting.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "base/hex.h"
#include "volunteer/contribution.h"
#include "volunteer/session.h"

namespace {

using namespace mlcp::volunteer;
using mlcp::CommError;
using mlcp::TimeoutError;
using mlcp::UsageError;
using mlcp::VerificationError;
using mlcp::verify::KeyPair;
using mlcp::verify::PublicKey;
namespace ucx = mlcp::collectives::ucx;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kLong = seconds(30);
const std::string kJob = "mnist-volunteers";

ucx::ContextOptions loopback() {
  ucx::ContextOptions o;
  o.transports = "tcp";
  o.net_devices = "lo";
  return o;
}

KeyPair keyOf(uint8_t seed) {
  std::array<uint8_t, 32> s{};
  s.fill(seed);
  return KeyPair::fromSeed(s);
}

std::string hexOf(const PublicKey& k) { return mlcp::hexEncode(k.data(), k.size()); }

// A thread with its own UCX context and worker; join() rethrows its exception.
class JobThread {
 public:
  explicit JobThread(std::function<void(ucx::Worker&, ucx::Listener&)> body) {
    auto port = port_.get_future();
    thread_ = std::thread([this, body = std::move(body)] {
      try {
        ucx::Context context(loopback());
        ucx::Worker worker(context);
        ucx::Listener listener = worker.listen("127.0.0.1:0");
        port_.set_value(listener.port());
        body(worker, listener);
        done_ = true;
      } catch (...) {
        done_ = true;
        error_ = std::current_exception();
        try {
          port_.set_value(0);
        } catch (const std::future_error&) {
        }
      }
    });
    port_number_ = port.get();
  }
  ~JobThread() {
    if (thread_.joinable()) thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_number_); }
  bool done() const { return done_; }
  void join() {
    thread_.join();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::promise<uint16_t> port_;
  uint16_t port_number_ = 0;
  std::exception_ptr error_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

ServerOptions serverOptions(std::vector<PublicKey> allowed, std::vector<std::string>* log) {
  ServerOptions o;
  o.job_id = kJob;
  o.allow = [allowed](const PublicKey& k) {
    for (const auto& a : allowed) {
      if (a == k) return true;
    }
    return false;
  };
  if (log != nullptr) o.log = [log](const std::string& line) { log->push_back(line); };
  return o;
}

ClientOptions clientOptions() {
  ClientOptions o;
  o.job_id = kJob;
  return o;
}

const KeyPair kJobKey = keyOf(10);
const KeyPair kVolunteer = keyOf(20);
const KeyPair kStranger = keyOf(30);

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const mlcp::Error& e) {
    return e.what();
  }
  return "";
}

// The protocol the coordinator will run, in miniature: Welcome, State (a 16 MiB tensor: sent by
// rendezvous), Assign; the volunteer answers with a signed Contribution; Ack; Bye.
TEST(VolunteerSession, HandshakeAndAStepBothWays) {
  for (uint32_t suites :
       {availableCipherSuites(), static_cast<uint32_t>(CipherSuite::kChaCha20Poly1305)}) {
    mlcp::Hash256 job_session;
    CipherSuite job_cipher{};
    JobThread job([&](ucx::Worker&, ucx::Listener& listener) {
      ServerOptions o = serverOptions({kVolunteer.publicKey()}, nullptr);
      o.cipher_suites = suites;
      Session s = Session::accept(listener, kJobKey, o, ucx::deadlineIn(kLong));
      EXPECT_EQ(s.peerKey(), kVolunteer.publicKey());
      job_session = s.sessionId();
      job_cipher = s.cipher();
      Welcome w;
      w.node_id = 7;
      w.job_id = kJob;
      w.job_file = "[job]\nname = \"mnist-volunteers\"\n";
      w.data_hash = mlcp::blake2b256("data");
      s.send(w, ucx::deadlineIn(kLong));
      State st;
      st.step = 3;
      st.state_hash = mlcp::blake2b256("state 3");
      TensorPiece p;
      p.name = "fc1.weight";
      p.shape = {4 << 20};
      p.data.assign(4 << 20, 0.125f);
      st.tensors.push_back(std::move(p));
      s.send(st, ucx::deadlineIn(kLong));
      s.send(Assign{3, 11, 5000}, ucx::deadlineIn(kLong));
      auto c = std::get<Contribution>(s.receive(ucx::deadlineIn(kLong)));
      EXPECT_EQ(c.step, 3u);
      EXPECT_EQ(c.micro_batch, 11u);
      std::vector<std::vector<float>> grads;
      for (auto& t : c.tensors) grads.push_back(t.data);
      EXPECT_EQ(gradientHash(grads), c.gradient_hash);
      EXPECT_TRUE(verifyContribution(s.peerKey(), kJob, c.step, c.micro_batch, mlcp::Hash256{},
                                     c.gradient_hash, c.signature));
      s.send(Ack{MessageType::kContribution, 3, 11}, ucx::deadlineIn(kLong));
      auto bye = std::get<Bye>(s.receive(ucx::deadlineIn(kLong)));
      EXPECT_EQ(bye.reason, ByeReason::kShutdown);
      EXPECT_THROW(s.receive(ucx::deadlineIn(kLong)), CommError);  // the volunteer closed
    });
    ucx::Context context(loopback());
    ucx::Worker worker(context);
    ClientOptions o = clientOptions();
    o.expected_job_key = kJobKey.publicKey();
    Session s = Session::connect(worker, job.address(), kVolunteer, o, ucx::deadlineIn(kLong));
    EXPECT_EQ(s.peerKey(), kJobKey.publicKey());
    auto w = std::get<Welcome>(s.receive(ucx::deadlineIn(kLong)));
    EXPECT_EQ(w.node_id, 7u);
    EXPECT_EQ(w.job_id, kJob);
    auto st = std::get<State>(s.receive(ucx::deadlineIn(kLong)));
    ASSERT_EQ(st.tensors.size(), 1u);
    EXPECT_EQ(st.tensors[0].data.size(), size_t{4} << 20);
    EXPECT_GE(s.endpoint().stats().rendezvous_received, 1u);
    auto a = std::get<Assign>(s.receive(ucx::deadlineIn(kLong)));
    Contribution c;
    c.step = a.step;
    c.micro_batch = a.micro_batch;
    c.tensors.push_back(TensorPiece{"", 0, {3}, 0, {1.f, -2.f, 0.5f}});
    c.gradient_hash = gradientHash({c.tensors[0].data});
    c.signature =
        signContribution(kVolunteer, kJob, c.step, c.micro_batch, mlcp::Hash256{}, c.gradient_hash);
    s.send(c, ucx::deadlineIn(kLong));
    auto ack = std::get<Ack>(s.receive(ucx::deadlineIn(kLong)));
    EXPECT_EQ(ack.acked, MessageType::kContribution);
    s.send(Bye{ByeReason::kShutdown, "done"}, ucx::deadlineIn(kLong));
    s.close(ucx::deadlineIn(kLong));
    job.join();
    EXPECT_EQ(s.sessionId(), job_session);
    EXPECT_EQ(s.cipher(), job_cipher);
  }
}

// A key off the allowlist: the job logs one line naming the key and sends nothing but the
// sealed Reject; the volunteer gets UsageError; the listener goes on to the next volunteer.
TEST(VolunteerSession, DisallowedKeyGetsNothingAndTheListenerGoesOn) {
  std::vector<std::string> log;
  std::string refusal;
  JobThread job([&](ucx::Worker&, ucx::Listener& listener) {
    const ServerOptions o = serverOptions({kVolunteer.publicKey()}, &log);
    refusal = errorOf([&] { Session::accept(listener, kJobKey, o, ucx::deadlineIn(kLong)); });
    EXPECT_THROW(Session::accept(listener, kJobKey, o, ucx::deadlineIn(kLong)), VerificationError);
    Session s = Session::accept(listener, kJobKey, o, ucx::deadlineIn(kLong));
    s.send(Welcome{1, {}, kJob, ""}, ucx::deadlineIn(kLong));
    EXPECT_THROW(s.receive(ucx::deadlineIn(kLong)), CommError);
  });
  ucx::Context context(loopback());
  ucx::Worker worker(context);
  const std::string e = errorOf([&] {
    Session::connect(worker, job.address(), kStranger, clientOptions(), ucx::deadlineIn(kLong));
  });
  EXPECT_NE(e.find("the job refused this volunteer"), std::string::npos) << e;
  EXPECT_NE(e.find("not on the job's allowlist"), std::string::npos) << e;
  {
    // The stranger again, by hand: exactly two frames come back (ServerHello, the sealed Reject),
    // then the job closes the connection.
    ucx::Endpoint ep = worker.connect(job.address(), volunteerEndpointOptions());
    HandshakeInitiator init(kStranger, kJob);
    ep.send(init.start(), ucx::deadlineIn(kLong));
    Buffer hello = ep.receive(ucx::deadlineIn(kLong));
    ep.send(init.onServerHello(hello.data(), hello.size()), ucx::deadlineIn(kLong));
    Buffer verdict = ep.receive(ucx::deadlineIn(kLong));
    EXPECT_THROW(init.finish(std::move(verdict)), UsageError);
    EXPECT_THROW(ep.receive(ucx::deadlineIn(kLong)), CommError);
    EXPECT_EQ(ep.stats().messages_received, 2u);
  }
  Session s =
      Session::connect(worker, job.address(), kVolunteer, clientOptions(), ucx::deadlineIn(kLong));
  EXPECT_EQ(std::get<Welcome>(s.receive(ucx::deadlineIn(kLong))).node_id, 1u);
  s.close(ucx::deadlineIn(kLong));
  job.join();
  EXPECT_NE(refusal.find(hexOf(kStranger.publicKey())), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("volunteer handshake from 127.0.0.1:"), std::string::npos) << refusal;
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0], refusal);
}

// Handshakes that go wrong on the job's side: garbage instead of a ClientHello, a silent client,
// the wrong job. Each fails alone; the listener goes on.
TEST(VolunteerSession, BadHandshakesFailAloneAndTheListenerGoesOn) {
  std::vector<std::string> log;
  std::vector<std::string> errors;
  JobThread job([&](ucx::Worker&, ucx::Listener& listener) {
    ServerOptions o = serverOptions({kVolunteer.publicKey()}, &log);
    o.handshake_timeout = milliseconds(500);
    for (int i = 0; i < 3; ++i) {
      errors.push_back(
          errorOf([&] { Session::accept(listener, kJobKey, o, ucx::deadlineIn(kLong)); }));
    }
    Session s = Session::accept(listener, kJobKey, o, ucx::deadlineIn(kLong));
    s.send(Heartbeat{1, 2}, ucx::deadlineIn(kLong));
    EXPECT_THROW(s.receive(ucx::deadlineIn(kLong)), CommError);
  });
  ucx::Context context(loopback());
  ucx::Worker worker(context);
  {
    ucx::Endpoint garbage = worker.connect(job.address());
    garbage.send(Buffer{'G', 'E', 'T', ' ', '/', '\r', '\n'}, ucx::deadlineIn(kLong));
    EXPECT_THROW(garbage.receive(ucx::deadlineIn(kLong)), CommError);  // closed, nothing sent
    EXPECT_EQ(garbage.stats().messages_received, 0u);
  }
  {
    ucx::Endpoint silent = worker.connect(job.address());
    EXPECT_THROW(silent.receive(ucx::deadlineIn(kLong)), CommError);  // dropped after 500 ms
  }
  ClientOptions wrong = clientOptions();
  wrong.job_id = "another-job";
  const std::string e = errorOf(
      [&] { Session::connect(worker, job.address(), kVolunteer, wrong, ucx::deadlineIn(kLong)); });
  EXPECT_NE(e.find("the job refused the handshake: not this job"), std::string::npos) << e;
  Session s =
      Session::connect(worker, job.address(), kVolunteer, clientOptions(), ucx::deadlineIn(kLong));
  EXPECT_EQ(std::get<Heartbeat>(s.receive(ucx::deadlineIn(kLong))).sequence, 1u);
  s.close(ucx::deadlineIn(kLong));
  job.join();
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_NE(errors[0].find("not an mlcp volunteer message"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("no message from"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find("asked for job 'another-job'"), std::string::npos) << errors[2];
  EXPECT_EQ(log, errors);
}

TEST(VolunteerSession, ImpostorJobIsRefusedByTheVolunteer) {
  JobThread job([&](ucx::Worker&, ucx::Listener& listener) {
    const ServerOptions o = serverOptions({kVolunteer.publicKey()}, nullptr);
    EXPECT_THROW(Session::accept(listener, kJobKey, o, ucx::deadlineIn(kLong)), CommError);
  });
  ucx::Context context(loopback());
  ucx::Worker worker(context);
  ClientOptions o = clientOptions();
  o.expected_job_key = kStranger.publicKey();
  const std::string e = errorOf(
      [&] { Session::connect(worker, job.address(), kVolunteer, o, ucx::deadlineIn(kLong)); });
  EXPECT_NE(e.find("the job's key is " + hexOf(kJobKey.publicKey())), std::string::npos) << e;
  // The job sees the volunteer drop the connection while this worker progresses.
  worker.progressUntil([&] { return job.done(); }, ucx::deadlineIn(kLong));
  job.join();
}

// An attacker on an established session's connection. After one good message, each case sends
// one bad frame; the job's receive refuses it with the expected words, the session is closed,
// and the listener accepts the next session.
TEST(VolunteerSession, AttacksOnASessionAreRefusedAndTheListenerGoesOn) {
  struct Case {
    const char* name;
    const char* expected_error;
  };
  const std::vector<Case> cases = {
      {"garbage", "not an mlcp volunteer message"},
      {"replayed", "replayed message: sequence number 1 was already received"},
      {"reordered", "reordered or dropped message: sequence number 2 arrived where 1 was due"},
      {"truncated", "truncated"},
      {"another session", "sealed by another session"},
      {"changed byte", "does not authenticate"},
      {"plain", "where a sealed one was due"},
  };
  std::vector<std::string> errors;
  std::vector<int> delivered;
  JobThread job([&](ucx::Worker&, ucx::Listener& listener) {
    const ServerOptions o = serverOptions({kVolunteer.publicKey()}, nullptr);
    for (size_t i = 0; i <= cases.size(); ++i) {
      Session s = Session::accept(listener, kJobKey, o, ucx::deadlineIn(kLong));
      int n = 0;
      const std::string e = errorOf([&] {
        for (;;) {
          s.receive(ucx::deadlineIn(kLong));
          ++n;
        }
      });
      errors.push_back(e);
      delivered.push_back(n);
      // The session stays refused: the next receive names the earlier failure.
      if (i < cases.size()) {
        EXPECT_THROW(s.receive(ucx::deadlineIn(kLong)), CommError);
      }
    }
  });
  ucx::Context context(loopback());
  ucx::Worker worker(context);
  std::vector<Session> sessions;
  for (const Case& c : cases) {
    sessions.push_back(Session::connect(worker, job.address(), kVolunteer, clientOptions(),
                                        ucx::deadlineIn(kLong)));
    Session& s = sessions.back();
    s.send(Heartbeat{0, 0}, ucx::deadlineIn(kLong));
    ucx::Endpoint& raw = s.endpoint();
    const std::string name = c.name;
    if (name == "garbage") {
      std::mt19937 gen(3);
      Buffer junk(300);
      for (auto& b : junk) b = static_cast<uint8_t>(gen());
      raw.send(std::move(junk), ucx::deadlineIn(kLong));
    } else if (name == "replayed") {
      const Buffer f = s.channel().seal(Heartbeat{1, 1});
      raw.send(f, ucx::deadlineIn(kLong));
      raw.send(f, ucx::deadlineIn(kLong));
    } else if (name == "reordered") {
      const Buffer a = s.channel().seal(Heartbeat{1, 1});
      const Buffer b = s.channel().seal(Heartbeat{2, 2});
      raw.send(b, ucx::deadlineIn(kLong));
      raw.send(a, ucx::deadlineIn(kLong));
    } else if (name == "truncated") {
      Buffer f = s.channel().seal(Assign{1, 2, 3});
      f.resize(f.size() - 7);
      raw.send(std::move(f), ucx::deadlineIn(kLong));
    } else if (name == "another session") {
      // The first session's channel, also at message 1: a valid frame, of another session.
      raw.send(sessions.front().channel().seal(Heartbeat{1, 1}), ucx::deadlineIn(kLong));
    } else if (name == "changed byte") {
      Buffer f = s.channel().seal(Assign{1, 2, 3});
      f[f.size() / 2] ^= 0x40;
      raw.send(std::move(f), ucx::deadlineIn(kLong));
    } else if (name == "plain") {
      raw.send(encode(Heartbeat{1, 1}), ucx::deadlineIn(kLong));
    }
    // The job closes the session: this side sees its endpoint fail.
    EXPECT_THROW(s.receive(ucx::deadlineIn(kLong)), CommError) << c.name;
  }
  Session last =
      Session::connect(worker, job.address(), kVolunteer, clientOptions(), ucx::deadlineIn(kLong));
  last.send(Heartbeat{0, 0}, ucx::deadlineIn(kLong));
  last.close(ucx::deadlineIn(kLong));
  job.join();
  ASSERT_EQ(errors.size(), cases.size() + 1);
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_NE(errors[i].find(cases[i].expected_error), std::string::npos)
        << cases[i].name << ": " << errors[i];
    EXPECT_NE(errors[i].find("session with 127.0.0.1:"), std::string::npos) << errors[i];
    EXPECT_EQ(delivered[i], std::string(cases[i].name) == "replayed" ? 2 : 1) << cases[i].name;
  }
  EXPECT_EQ(delivered.back(), 1);  // the last, honest session: one message, then its close
}

}  // namespace
