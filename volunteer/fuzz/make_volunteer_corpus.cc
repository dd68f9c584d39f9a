// Writes the seed corpus of the volunteer fuzz harnesses (build_and_run.sh runs it): one file per
// message type for fuzz_volunteer_wire, and real handshake frames for fuzz_volunteer_handshake,
// each behind the mode byte that harness reads. Seeds are made, not committed.
//
//   make_volunteer_corpus WIRE_DIR HANDSHAKE_DIR
#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "volunteer/handshake.h"
#include "volunteer/secure_channel.h"
#include "volunteer/wire.h"

using namespace mlcp::volunteer;

namespace {

void write(const std::string& path, const Buffer& bytes, int prefix = -1) {
  std::ofstream out(path, std::ios::binary);
  if (prefix >= 0) out.put(static_cast<char>(prefix));
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_volunteer_corpus WIRE_DIR HANDSHAKE_DIR\n");
    return 2;
  }
  const std::string wire = argv[1], hs = argv[2];
  TensorPiece piece{"fc1.weight", 0, {2, 3}, 1, {1.f, 2.f, 3.f}};
  State state;
  state.step = 5;
  state.tensors = {piece, TensorPiece{"b", 1, {}, 0, {4.f}}};
  Contribution contribution;
  contribution.step = 5;
  contribution.micro_batch = 2;
  contribution.tensors = {piece};
  const std::vector<Message> messages = {
      ClientHello{3, {}, "fuzz-job"},
      ServerHello{},
      ClientAuth{},
      Welcome{1, {}, "fuzz-job", "[job]\n"},
      state,
      Assign{5, 2, 1000},
      contribution,
      Ack{MessageType::kState, 5, 0},
      Reject{RejectReason::kLate, MessageType::kContribution, 5, 2, "late"},
      Heartbeat{1, 2},
      Bye{ByeReason::kDone, "bye"}};
  int n = 0;
  for (const Message& m : messages) {
    write(wire + "/frame_" + std::to_string(n), encode(m));
    Buffer body;
    encodeBody(m, body);
    const int type_index = n < 3 ? n : n + 1;  // fuzz_volunteer_wire's kTypes order
    write(wire + "/body_" + std::to_string(n), body, type_index);
    ++n;
  }
  // Sealed frames under fuzz_volunteer_wire's fixed session, as its volunteer side seals them.
  for (CipherSuite cipher : {CipherSuite::kChaCha20Poly1305, CipherSuite::kAes256Gcm}) {
    if ((availableCipherSuites() & static_cast<uint32_t>(cipher)) == 0) continue;
    SessionKeys k;
    k.job_id = "fuzz-job";
    k.cipher = cipher;
    k.job_side = false;
    k.session_id.bytes.fill(0x11);
    k.send_key.fill(0x33);
    k.receive_key.fill(0x22);
    for (size_t i = 3; i < messages.size(); ++i) {
      SecureChannel volunteer(k);
      write(wire + "/sealed_" + std::to_string(static_cast<int>(cipher)) + "_" + std::to_string(i),
            volunteer.seal(messages[i]));
    }
  }
  const auto job = mlcp::verify::KeyPair::fromSeed(std::array<uint8_t, 32>{1});
  const auto volunteer = mlcp::verify::KeyPair::fromSeed(std::array<uint8_t, 32>{2});
  HandshakeInitiator init(volunteer, "fuzz-job");
  HandshakeResponder resp(job, "fuzz-job", [](const mlcp::verify::PublicKey&) { return true; });
  const Buffer hello = init.start();
  const HandshakeReply answer = resp.onClientHello(hello.data(), hello.size());
  const Buffer auth = init.onServerHello(answer.frame.data(), answer.frame.size());
  const HandshakeReply verdict = resp.onClientAuth(auth.data(), auth.size());
  Buffer mode0{static_cast<uint8_t>(hello.size() & 0xff), static_cast<uint8_t>(hello.size() >> 8)};
  mode0.insert(mode0.end(), hello.begin(), hello.end());
  mode0.insert(mode0.end(), auth.begin(), auth.end());
  write(hs + "/responder_hello_auth", mode0, 0);
  write(hs + "/responder_auth", auth, 1);
  write(hs + "/initiator_server_hello", answer.frame, 2);
  write(hs + "/initiator_reject",
        encode(Reject{RejectReason::kWrongJob, MessageType::kClientHello, 0, 0, ""}), 2);
  write(hs + "/initiator_verdict", verdict.frame, 3);
  return 0;
}
