// libFuzzer harness: the volunteer wire decoder (volunteer/wire.h) and the record layer's
// opening of sealed frames (volunteer/secure_channel.h), fed arbitrary bytes.
//
// Outcome contract (tests/fuzz/fuzz_util.h): an mlcp::Error is the decoder's answer to bad
// input; anything else — another exception, a crash, a sanitizer report, a broken round trip —
// is a finding. Round trips: a frame that decodes re-encodes to exactly the same bytes, and so
// does a body that decodes.
#include <cstdint>
#include <cstring>

#include "tests/fuzz/fuzz_util.h"
#include "volunteer/secure_channel.h"
#include "volunteer/wire.h"

namespace {

using namespace mlcp::volunteer;

constexpr MessageType kTypes[] = {
    MessageType::kClientHello, MessageType::kServerHello,  MessageType::kClientAuth,
    MessageType::kSealed,      MessageType::kWelcome,      MessageType::kState,
    MessageType::kAssign,      MessageType::kContribution, MessageType::kAck,
    MessageType::kReject,      MessageType::kHeartbeat,    MessageType::kBye};

// The harness's fixed session (fuzz_make_corpus seals seeds under it, as the volunteer).
SessionKeys fixedKeys(CipherSuite cipher, bool job_side) {
  SessionKeys k;
  k.job_id = "fuzz-job";
  k.cipher = cipher;
  k.job_side = job_side;
  k.session_id.bytes.fill(0x11);
  k.send_key.fill(job_side ? 0x22 : 0x33);
  k.receive_key.fill(job_side ? 0x33 : 0x22);
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mlcp::fuzz::expectOnlyMlcpErrors;
  using mlcp::fuzz::fuzzCheck;
  // 1. A whole frame.
  expectOnlyMlcpErrors([&] {
    const Message m = decode(data, size);
    const Buffer again = encode(m);
    fuzzCheck(again.size() == size && std::memcmp(again.data(), data, size) == 0,
              "a decoded frame does not re-encode to the same bytes");
  });
  // 2. A body of the type the first byte picks, without a frame header to satisfy.
  if (size >= 1) {
    const MessageType type = kTypes[data[0] % (sizeof(kTypes) / sizeof(kTypes[0]))];
    expectOnlyMlcpErrors([&] {
      const Message m = decodeBody(type, data + 1, size - 1);
      fuzzCheck(typeOf(m) == type, "decodeBody returned another type");
      Buffer again;
      encodeBody(m, again);
      fuzzCheck(again.size() == size - 1 && bodyBytes(m) == size - 1 &&
                    (size == 1 || std::memcmp(again.data(), data + 1, size - 1) == 0),
                "a decoded body does not re-encode to the same bytes");
    });
  }
  // 3. A sealed frame, opened by a channel of each cipher suite (header, sequence number and
  //    authentication checks; a forged frame never authenticates). Only for inputs that start
  //    like one: a channel costs more to make than the decoders above cost to run.
  const bool sealed_like = size >= kFrameHeaderBytes &&
                           std::memcmp(data, kWireMagic.data(), kWireMagic.size()) == 0 &&
                           data[6] == static_cast<uint8_t>(MessageType::kSealed) && data[7] == 0;
  if (!sealed_like) return 0;
  for (CipherSuite cipher : {CipherSuite::kChaCha20Poly1305, CipherSuite::kAes256Gcm}) {
    if (cipher == CipherSuite::kAes256Gcm &&
        (availableCipherSuites() & static_cast<uint32_t>(cipher)) == 0) {
      continue;
    }
    expectOnlyMlcpErrors([&] {
      SecureChannel job(fixedKeys(cipher, true));
      const Message m = job.open(Buffer(data, data + size));
      // Only a frame sealed under the fixed keys opens (a seed): it must be message 0, and the
      // volunteer side seals the message it holds back to the same bytes.
      SecureChannel volunteer(fixedKeys(cipher, false));
      const Buffer again = volunteer.seal(m);
      fuzzCheck(again.size() == size && std::memcmp(again.data(), data, size) == 0,
                "an opened sealed frame does not re-seal to the same bytes");
    });
  }
  return 0;
}
