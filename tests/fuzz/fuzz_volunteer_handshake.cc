// libFuzzer harness: the volunteer handshake (volunteer/handshake.h) fed arbitrary bytes where a
// peer's frame is due. The first byte picks where:
//   0  the job (responder): arbitrary ClientHello, then, if it answered, arbitrary ClientAuth
//      (the next two bytes give the first frame's length);
//   1  the job: a real volunteer's ClientHello, then an arbitrary ClientAuth;
//   2  the volunteer (initiator): an arbitrary answer to its ClientHello;
//   3  the volunteer: a real exchange, then an arbitrary verdict in place of the sealed Ack.
// Outcome contract (tests/fuzz/fuzz_util.h): mlcp::Error is the expected answer. Invariants:
// the job never asks its allowlist about a key whose proof it did not verify (no arbitrary
// bytes can prove one), and no arbitrary input completes a handshake.
#include <array>
#include <cstdint>

#include "tests/fuzz/fuzz_util.h"
#include "volunteer/handshake.h"

namespace {

using namespace mlcp::volunteer;
using mlcp::verify::KeyPair;

const char kJob[] = "fuzz-job";

const KeyPair& keyOf(uint8_t seed) {
  static const KeyPair job = KeyPair::fromSeed(std::array<uint8_t, 32>{1});
  static const KeyPair volunteer = KeyPair::fromSeed(std::array<uint8_t, 32>{2});
  return seed == 0 ? job : volunteer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mlcp::fuzz::expectOnlyMlcpErrors;
  using mlcp::fuzz::fuzzCheck;
  if (size == 0) return 0;
  const int mode = data[0] % 4;
  ++data;
  --size;
  int asked = 0;
  const AllowFn allow = [&](const mlcp::verify::PublicKey&) {
    ++asked;
    return true;
  };
  expectOnlyMlcpErrors([&] {
    switch (mode) {
      case 0: {
        size_t first = size;
        if (size >= 2) {
          first = std::min<size_t>(size - 2, data[0] | (data[1] << 8));
          data += 2;
          size -= 2;
        }
        HandshakeResponder job(keyOf(0), kJob, allow);
        const HandshakeReply reply = job.onClientHello(data, first);
        if (reply.refused) return;
        job.onClientAuth(data + first, size - first);
        fuzzCheck(false, "an arbitrary ClientAuth was accepted");
        break;
      }
      case 1: {
        HandshakeInitiator volunteer(keyOf(1), kJob);
        HandshakeResponder job(keyOf(0), kJob, allow);
        const Buffer hello = volunteer.start();
        job.onClientHello(hello.data(), hello.size());
        job.onClientAuth(data, size);
        fuzzCheck(false, "an arbitrary ClientAuth was accepted");
        break;
      }
      case 2: {
        HandshakeInitiator volunteer(keyOf(1), kJob);
        volunteer.start();
        volunteer.onServerHello(data, size);
        fuzzCheck(false, "an arbitrary ServerHello was accepted");
        break;
      }
      default: {
        HandshakeInitiator volunteer(keyOf(1), kJob);
        HandshakeResponder job(keyOf(0), kJob, allow);
        const Buffer hello = volunteer.start();
        const HandshakeReply answer = job.onClientHello(hello.data(), hello.size());
        volunteer.onServerHello(answer.frame.data(), answer.frame.size());
        volunteer.finish(Buffer(data, data + size));
        fuzzCheck(false, "an arbitrary verdict completed the handshake");
        break;
      }
    }
  });
  fuzzCheck(asked == 0, "the allowlist was asked about an unproven key");
  return 0;
}
