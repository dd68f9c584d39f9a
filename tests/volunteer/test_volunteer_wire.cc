// The volunteer wire format (volunteer/wire.h): every type round-trips; every limit holds at 0,
// at the limit, and refuses limit + 1 on both sides; the decoder refuses truncated, padded,
// garbage and lying frames with a CommError that names the field.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "volunteer/contribution.h"
#include "volunteer/wire.h"
#include "volunteer/wire_io.h"

namespace {

using namespace mlcp::volunteer;
using mlcp::CommError;
using mlcp::Hash256;
using mlcp::InvalidArgument;

Hash256 hashOf(uint8_t seed) {
  Hash256 h;
  for (size_t i = 0; i < 32; ++i) h.bytes[i] = static_cast<uint8_t>(seed + i);
  return h;
}

TensorPiece piece(const std::string& name, uint32_t index, std::vector<uint64_t> shape,
                  uint64_t offset, size_t count) {
  TensorPiece p;
  p.name = name;
  p.index = index;
  p.shape = std::move(shape);
  p.offset = offset;
  p.data.resize(count);
  for (size_t i = 0; i < count; ++i) p.data[i] = 0.25f * static_cast<float>(i) - 3.f;
  return p;
}

std::vector<Message> samples() {
  std::vector<Message> out;
  ClientHello ch;
  ch.cipher_suites = 3;
  ch.ephemeral.fill(7);
  ch.job_id = "mnist-mlp";
  out.push_back(ch);
  ServerHello sh;
  sh.cipher = 2;
  sh.ephemeral.fill(9);
  sh.sealed_identity.fill(0xab);
  out.push_back(sh);
  ClientAuth ca;
  ca.sealed_identity.fill(0xcd);
  out.push_back(ca);
  Welcome w;
  w.node_id = 42;
  w.data_hash = hashOf(1);
  w.job_id = "mnist-mlp";
  w.job_file = "[job]\nname = \"mnist-mlp\"\n";
  out.push_back(w);
  State s;
  s.step = 17;
  s.state_hash = hashOf(2);
  s.chain_hash = hashOf(3);
  s.chunk_index = 1;
  s.chunk_count = 3;
  s.tensors = {piece("fc1.weight", 0, {256, 784}, 1000, 333), piece("fc1.bias", 1, {256}, 0, 256),
               piece("scale", 2, {}, 0, 1), piece("empty", 3, {0, 5}, 0, 0)};
  out.push_back(s);
  out.push_back(Assign{17, 5, 30000});
  Contribution c;
  c.step = 17;
  c.micro_batch = 5;
  c.gradient_hash = hashOf(4);
  c.signature.fill(0x5a);
  c.tensors = {piece("", 0, {10}, 0, 10), piece("", 1, {3, 3}, 0, 9)};
  out.push_back(c);
  out.push_back(Ack{MessageType::kContribution, 17, 5});
  Reject r;
  r.reason = RejectReason::kLate;
  r.rejected = MessageType::kContribution;
  r.step = 17;
  r.micro_batch = 5;
  r.detail = "deadline passed";
  out.push_back(r);
  out.push_back(Heartbeat{9, 1700000000000});
  out.push_back(Bye{ByeReason::kEvicted, "too slow"});
  return out;
}

TEST(VolunteerWire, EveryTypeRoundTrips) {
  for (const Message& m : samples()) {
    const Buffer frame = encode(m);
    EXPECT_EQ(frame.size(), kFrameHeaderBytes + bodyBytes(m)) << messageTypeName(typeOf(m));
    const Message back = decode(frame);
    EXPECT_EQ(typeOf(back), typeOf(m));
    EXPECT_TRUE(encode(back) == frame) << messageTypeName(typeOf(m)) << " changed in a round trip";
  }
  // Field by field for the tensor-carrying type.
  const State s = std::get<State>(samples()[4]);
  const State back = std::get<State>(decode(encode(s)));
  ASSERT_EQ(back.tensors.size(), 4u);
  EXPECT_EQ(back.step, 17u);
  EXPECT_EQ(back.chain_hash, s.chain_hash);
  EXPECT_EQ(back.chunk_index, 1u);
  EXPECT_EQ(back.tensors[0].name, "fc1.weight");
  EXPECT_EQ(back.tensors[0].shape, (std::vector<uint64_t>{256, 784}));
  EXPECT_EQ(back.tensors[0].offset, 1000u);
  EXPECT_EQ(back.tensors[0].data, s.tensors[0].data);
  EXPECT_TRUE(back.tensors[2].shape.empty());
  EXPECT_EQ(back.tensors[2].data.size(), 1u);
}

TEST(VolunteerWire, FrameHeaderLayout) {
  const Buffer f = encode(Assign{1, 2, 3});
  ASSERT_EQ(f.size(), 12u + 24u);
  EXPECT_EQ(std::string(f.begin(), f.begin() + 4), "MLCV");
  EXPECT_EQ(f[4], 1);   // version, little-endian
  EXPECT_EQ(f[6], 34);  // Assign
  EXPECT_EQ(f[8], 24);  // body length
  EXPECT_EQ(f[12], 1);  // step
}

std::string decodeError(const Buffer& frame) {
  try {
    decode(frame);
  } catch (const CommError& e) {
    return e.what();
  }
  return "";
}

// Every strict prefix of every message is refused as truncated, never read past its end.
TEST(VolunteerWire, EveryTruncationIsRefused) {
  for (const Message& m : samples()) {
    const Buffer frame = encode(m);
    for (size_t n = 0; n < frame.size(); ++n) {
      Buffer cut(frame.begin(), frame.begin() + n);
      const std::string e = decodeError(cut);
      EXPECT_FALSE(e.empty()) << messageTypeName(typeOf(m)) << " cut at " << n;
    }
    // The header fixed to the shorter length: the body decoder sees the truncation.
    if (frame.size() > kFrameHeaderBytes) {
      Buffer cut(frame.begin(), frame.end() - 1);
      const uint32_t body = static_cast<uint32_t>(cut.size() - kFrameHeaderBytes);
      std::memcpy(cut.data() + 8, &body, 4);
      EXPECT_FALSE(decodeError(cut).empty()) << messageTypeName(typeOf(m));
    }
  }
  Buffer f = encode(Assign{1, 2, 3});
  f.pop_back();
  EXPECT_NE(decodeError(f).find("truncated"), std::string::npos) << decodeError(f);
}

TEST(VolunteerWire, TrailingBytesAreRefused) {
  for (const Message& m : samples()) {
    Buffer frame = encode(m);
    frame.push_back(0);
    EXPECT_FALSE(decodeError(frame).empty()) << messageTypeName(typeOf(m));
    const uint32_t body = static_cast<uint32_t>(frame.size() - kFrameHeaderBytes);
    std::memcpy(frame.data() + 8, &body, 4);
    EXPECT_NE(decodeError(frame).find("trailing"), std::string::npos) << decodeError(frame);
  }
}

TEST(VolunteerWire, HeaderLiesAreRefused) {
  Buffer f = encode(Heartbeat{1, 2});
  Buffer bad = f;
  bad[0] = 'X';
  EXPECT_NE(decodeError(bad).find("magic"), std::string::npos);
  bad = f;
  bad[4] = 2;
  EXPECT_NE(decodeError(bad).find("version 2"), std::string::npos) << decodeError(bad);
  bad = f;
  bad[6] = 99;
  EXPECT_NE(decodeError(bad).find("unknown message type 99"), std::string::npos);
  bad = f;
  bad[6] = 16;
  EXPECT_NE(decodeError(bad).find("Sealed"), std::string::npos);
  bad = f;
  bad[11] = 0x7f;  // body length 2 GiB
  EXPECT_NE(decodeError(bad).find("body length"), std::string::npos);
  EXPECT_FALSE(decodeError(Buffer()).empty());
}

TEST(VolunteerWire, GarbageIsRefusedWithMlcpErrors) {
  std::mt19937 gen(7);
  for (int i = 0; i < 20000; ++i) {
    Buffer b(gen() % 200);
    for (auto& x : b) x = static_cast<uint8_t>(gen());
    if (b.size() >= 12 && i % 2 == 0) {  // a valid header over random bodies
      std::memcpy(b.data(), "MLCV", 4);
      b[4] = 1;
      b[5] = 0;
      b[6] = static_cast<uint8_t>(32 + gen() % 8);
      b[7] = 0;
      const uint32_t body = static_cast<uint32_t>(b.size() - 12);
      std::memcpy(b.data() + 8, &body, 4);
    }
    try {
      decode(b);
    } catch (const mlcp::Error&) {
    }
  }
}

// ---- limits: 0, the limit, the limit + 1 (refused when encoding and when decoding) -----------

// Re-encodes a frame after `patch` edited its body bytes, fixing the body length.
Buffer frameOf(MessageType type, const Buffer& body) {
  Buffer f;
  writeFrameHeader({kWireVersion, type, static_cast<uint32_t>(body.size())}, f);
  f.insert(f.end(), body.begin(), body.end());
  return f;
}

TEST(VolunteerWire, StringLimits) {
  for (size_t n : {size_t{0}, kMaxJobIdBytes}) {
    Welcome w;
    w.job_id = std::string(n, 'j');
    w.job_file = std::string(n == 0 ? 0 : kMaxJobFileBytes, 'f');
    const Welcome back = std::get<Welcome>(decode(encode(w)));
    EXPECT_EQ(back.job_id.size(), n);
    EXPECT_EQ(back.job_file.size(), w.job_file.size());
  }
  Welcome w;
  w.job_id = std::string(kMaxJobIdBytes + 1, 'j');
  EXPECT_THROW(encode(w), InvalidArgument);
  w.job_id = "";
  w.job_file = std::string(kMaxJobFileBytes + 1, 'f');
  EXPECT_THROW(encode(w), InvalidArgument);
  Bye bye;
  bye.detail = std::string(kMaxTextBytes, 'd');
  EXPECT_EQ(std::get<Bye>(decode(encode(bye))).detail.size(), kMaxTextBytes);
  bye.detail.push_back('d');
  EXPECT_THROW(encode(bye), InvalidArgument);
  Reject r;
  r.detail = std::string(kMaxTextBytes + 1, 'd');
  EXPECT_THROW(encode(r), InvalidArgument);

  // Decoding: a hand-made body one byte over each limit.
  auto over = [](MessageType type, size_t prefix_zeros, size_t len_bytes, size_t n) {
    Buffer body(prefix_zeros, 0);
    mlcp::volunteer::WireWriter w(body);
    if (len_bytes == 2) {
      w.u16(static_cast<uint16_t>(n));
    } else {
      w.u32(static_cast<uint32_t>(n));
    }
    body.resize(body.size() + n, 'x');
    return frameOf(type, body);
  };
  EXPECT_NE(decodeError(over(MessageType::kClientHello, 36, 2, kMaxJobIdBytes + 1))
                .find("job_id: 129 bytes exceed the limit of 128"),
            std::string::npos)
      << decodeError(over(MessageType::kClientHello, 36, 2, kMaxJobIdBytes + 1));
  EXPECT_NE(decodeError(over(MessageType::kBye, 2, 2, kMaxTextBytes + 1)).find("limit of 1024"),
            std::string::npos);
  {
    Buffer body(8 + 32, 0);
    mlcp::volunteer::WireWriter w(body);
    w.shortString("job");
    w.u32(static_cast<uint32_t>(kMaxJobFileBytes + 1));
    body.resize(body.size() + kMaxJobFileBytes + 1, 'x');
    EXPECT_NE(decodeError(frameOf(MessageType::kWelcome, body)).find("job_file"),
              std::string::npos);
  }
}

TEST(VolunteerWire, TensorLimits) {
  State s;
  // 0 pieces and kMaxTensorsPerMessage pieces pass; one more is refused.
  EXPECT_TRUE(std::get<State>(decode(encode(s))).tensors.empty());
  s.tensors.assign(kMaxTensorsPerMessage, piece("t", 0, {1}, 0, 1));
  EXPECT_EQ(std::get<State>(decode(encode(s))).tensors.size(), kMaxTensorsPerMessage);
  s.tensors.push_back(piece("t", 0, {1}, 0, 1));
  EXPECT_THROW(encode(s), InvalidArgument);
  // Name length, rank, elements.
  s.tensors = {piece(std::string(kMaxNameBytes, 'n'), 0, {1, 1, 1, 1, 1, 1, 1, 1}, 0, 1)};
  EXPECT_EQ(std::get<State>(decode(encode(s))).tensors[0].name.size(), kMaxNameBytes);
  s.tensors = {piece(std::string(kMaxNameBytes + 1, 'n'), 0, {1}, 0, 1)};
  EXPECT_THROW(encode(s), InvalidArgument);
  s.tensors = {piece("r", 0, {1, 1, 1, 1, 1, 1, 1, 1, 1}, 0, 1)};
  EXPECT_THROW(encode(s), InvalidArgument);
  s.tensors = {piece("big", 0, {uint64_t{1} << 20, uint64_t{1} << 20}, (uint64_t{1} << 40) - 2, 2)};
  EXPECT_EQ(std::get<State>(decode(encode(s))).tensors[0].offset, (uint64_t{1} << 40) - 2);
  s.tensors = {piece("big", 0, {(uint64_t{1} << 20) + 1, uint64_t{1} << 20}, 0, 1)};
  EXPECT_THROW(encode(s), InvalidArgument);
  // A piece outside its tensor.
  s.tensors = {piece("p", 0, {10}, 8, 3)};
  EXPECT_THROW(encode(s), InvalidArgument);
  s.tensors = {piece("p", 0, {10}, 7, 3)};
  EXPECT_EQ(std::get<State>(decode(encode(s))).tensors[0].data.size(), 3u);
  // Chunks.
  s.chunk_index = 3;
  s.chunk_count = 3;
  EXPECT_THROW(encode(s), InvalidArgument);
  s.chunk_count = 0;
  s.chunk_index = 0;
  EXPECT_THROW(encode(s), InvalidArgument);
}

// Bodies that lie about counts: refused before anything is allocated from the count.
TEST(VolunteerWire, LyingCountsAreRefusedBeforeAllocating) {
  auto stateBody = [](auto&& tail) {
    Buffer body;
    mlcp::volunteer::WireWriter w(body);
    w.u64(1);
    body.resize(body.size() + 64, 0);
    w.u32(0);
    w.u32(1);
    tail(w);
    return frameOf(MessageType::kState, body);
  };
  // 4096 pieces claimed, none present.
  std::string e = decodeError(stateBody([](auto& w) { w.u32(4096); }));
  EXPECT_NE(e.find("cannot fit"), std::string::npos) << e;
  e = decodeError(stateBody([](auto& w) { w.u32(4097); }));
  EXPECT_NE(e.find("exceeds the limit of 4096"), std::string::npos) << e;
  // One piece claiming 2^40 floats in a few bytes.
  e = decodeError(stateBody([](auto& w) {
    w.u32(1);
    w.shortString("x");
    w.u32(0);
    w.u8(1);
    w.u64(uint64_t{1} << 40);
    w.u64(0);
    w.u64(uint64_t{1} << 40);
    w.u32(0);
  }));
  EXPECT_NE(e.find("tensor data"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  // A shape whose product overflows.
  e = decodeError(stateBody([](auto& w) {
    w.u32(1);
    w.shortString("x");
    w.u32(0);
    w.u8(2);
    w.u64(uint64_t{1} << 32);
    w.u64(uint64_t{1} << 32);
    w.u64(0);
    w.u64(0);
  }));
  EXPECT_NE(e.find("tensor shape"), std::string::npos) << e;
  // Rank 9.
  e = decodeError(stateBody([](auto& w) {
    w.u32(1);
    w.shortString("x");
    w.u32(0);
    w.u8(9);
    const uint8_t zeros[96] = {0};
    w.put(zeros, sizeof(zeros));
  }));
  EXPECT_NE(e.find("rank"), std::string::npos) << e;
  // offset + count past the tensor, without overflow tricks working.
  e = decodeError(stateBody([](auto& w) {
    w.u32(1);
    w.shortString("x");
    w.u32(0);
    w.u8(1);
    w.u64(10);
    w.u64(~uint64_t{0});
    w.u64(2);
  }));
  EXPECT_NE(e.find("outside"), std::string::npos) << e;
}

TEST(VolunteerWire, WholeMessageLimit) {
  // A State whose frame is exactly kMaxMessageBytes passes; one float more is refused.
  State s;
  const size_t fixed = kFrameHeaderBytes + bodyBytes(s) + (2 + 1 + 4 + 1 + 8 + 8 + 8);
  const size_t floats = (kMaxMessageBytes - fixed) / 4;
  s.tensors = {piece("w", 0, {floats + 1}, 0, floats)};
  const size_t size = kFrameHeaderBytes + bodyBytes(s);
  ASSERT_LE(size, kMaxMessageBytes);
  ASSERT_GT(size + 4, kMaxMessageBytes);
  EXPECT_EQ(std::get<State>(decode(encode(s))).tensors[0].data.size(), floats);
  s.tensors[0].data.resize(floats + 1);
  EXPECT_THROW(encode(s), InvalidArgument);
  Buffer huge(kMaxMessageBytes + 1, 0);
  EXPECT_NE(decodeError(huge).find("exceed the limit"), std::string::npos);
}

TEST(VolunteerWire, NamesOfTypesAndReasons) {
  EXPECT_EQ(messageTypeName(MessageType::kContribution), "Contribution");
  EXPECT_EQ(messageTypeName(static_cast<MessageType>(77)), "type 77");
  EXPECT_EQ(rejectReasonText(RejectReason::kNotAllowed), "not on the job's allowlist");
  EXPECT_EQ(rejectReasonText(static_cast<RejectReason>(77)), "reason 77");
  // Unknown reason codes decode (a newer peer's reasons still reach the log).
  Reject r;
  r.reason = static_cast<RejectReason>(500);
  EXPECT_EQ(static_cast<int>(std::get<Reject>(decode(encode(r))).reason), 500);
}

TEST(VolunteerContribution, HashAndSignature) {
  const auto key = mlcp::verify::KeyPair::fromSeed({});
  const std::vector<std::vector<float>> grads = {{1.f, 2.f}, {}, {3.f}};
  const Hash256 h = gradientHash(grads);
  EXPECT_NE(h, gradientHash({{1.f, 2.f}, {3.f}})) << "tensor boundaries are part of the hash";
  EXPECT_NE(h, gradientHash({{1.f}, {2.f}, {3.f}}));
  const auto sig = signContribution(key, "job", 3, 4, Hash256{}, h);
  EXPECT_TRUE(verifyContribution(key.publicKey(), "job", 3, 4, Hash256{}, h, sig));
  EXPECT_FALSE(verifyContribution(key.publicKey(), "job2", 3, 4, Hash256{}, h, sig));
  EXPECT_FALSE(verifyContribution(key.publicKey(), "job", 4, 4, Hash256{}, h, sig));
  EXPECT_FALSE(verifyContribution(key.publicKey(), "job", 3, 5, Hash256{}, h, sig));
  EXPECT_FALSE(verifyContribution(key.publicKey(), "job", 3, 4, Hash256{}, gradientHash({}), sig));
  EXPECT_FALSE(verifyContribution(key.publicKey(), "job", 3, 4, h, h, sig))
      << "another state digest";
  const auto other = mlcp::verify::KeyPair::fromSeed({1});
  EXPECT_FALSE(verifyContribution(other.publicKey(), "job", 3, 4, Hash256{}, h, sig));
}

}  // namespace
