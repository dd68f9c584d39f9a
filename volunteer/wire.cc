#include "volunteer/wire.h"

#include <fmt/format.h>

#include <cstring>
#include <type_traits>

#include "base/error.h"
#include "volunteer/wire_io.h"

namespace mlcp::volunteer {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// ---- limits on the sending side ----------------------------------------------------------------

void requireText(const std::string& s, size_t max, const char* what) {
  require(s.size() <= max, fmt::format("volunteer wire: {} of {} bytes exceeds the limit of {}",
                                       what, s.size(), max));
}

uint64_t elementsOf(const std::vector<uint64_t>& shape, const char* what) {
  uint64_t n = 1;
  for (uint64_t d : shape) {
    require(d == 0 || n <= kMaxTensorElements / d,
            fmt::format("volunteer wire: {}: shape exceeds {} elements", what, kMaxTensorElements));
    n *= d;
  }
  return n;
}

void checkPieces(const std::vector<TensorPiece>& pieces) {
  require(pieces.size() <= kMaxTensorsPerMessage,
          fmt::format("volunteer wire: {} tensor pieces exceed the limit of {} per message",
                      pieces.size(), kMaxTensorsPerMessage));
  for (const TensorPiece& p : pieces) {
    requireText(p.name, kMaxNameBytes, "a tensor name");
    require(p.shape.size() <= kMaxTensorRank,
            fmt::format("volunteer wire: tensor '{}' has rank {}, the limit is {}", p.name,
                        p.shape.size(), kMaxTensorRank));
    const uint64_t n = elementsOf(p.shape, "a tensor");
    require(p.offset <= n && p.data.size() <= n - p.offset,
            fmt::format("volunteer wire: tensor '{}' piece [{}, +{}) lies outside its {} elements",
                        p.name, p.offset, p.data.size(), n));
  }
}

size_t piecesBytes(const std::vector<TensorPiece>& pieces) {
  size_t n = 4;
  for (const TensorPiece& p : pieces) {
    n += 2 + p.name.size() + 4 + 1 + 8 * p.shape.size() + 8 + 8 + 4 * p.data.size();
  }
  return n;
}

void writePieces(WireWriter& w, const std::vector<TensorPiece>& pieces) {
  w.u32(static_cast<uint32_t>(pieces.size()));
  for (const TensorPiece& p : pieces) {
    w.shortString(p.name);
    w.u32(p.index);
    w.u8(static_cast<uint8_t>(p.shape.size()));
    for (uint64_t d : p.shape) w.u64(d);
    w.u64(p.offset);
    w.u64(p.data.size());
    w.floats(p.data.data(), p.data.size());
  }
}

// ---- decoding ----------------------------------------------------------------------------------

Hash256 readHash(WireReader& r, const char* field) {
  Hash256 h;
  h.bytes = r.fixed<32>(field);
  return h;
}

std::vector<TensorPiece> readPieces(WireReader& r) {
  const uint32_t count = r.u32("tensor_count");
  if (count > kMaxTensorsPerMessage) {
    r.fail("tensor_count", fmt::format("{} exceeds the limit of {}", count, kMaxTensorsPerMessage));
  }
  // Each piece takes at least 27 bytes: a count the bytes cannot hold is refused before the
  // vector is sized from it.
  constexpr size_t kMinPieceBytes = 2 + 4 + 1 + 8 + 8;
  if (count > r.remaining() / kMinPieceBytes) {
    r.fail("tensor_count", fmt::format("{} pieces cannot fit in the {} bytes left (truncated)",
                                       count, r.remaining()));
  }
  std::vector<TensorPiece> pieces(count);
  for (TensorPiece& p : pieces) {
    p.name = r.shortString("tensor name", kMaxNameBytes);
    p.index = r.u32("tensor index");
    const uint8_t rank = r.u8("tensor rank");
    if (rank > kMaxTensorRank) {
      r.fail("tensor rank", fmt::format("{} exceeds the limit of {}", rank, kMaxTensorRank));
    }
    uint64_t elements = 1;
    p.shape.resize(rank);
    for (uint64_t& d : p.shape) {
      d = r.u64("tensor shape");
      if (d != 0 && elements > kMaxTensorElements / d) {
        r.fail("tensor shape", fmt::format("more than {} elements", kMaxTensorElements));
      }
      elements *= d;
    }
    p.offset = r.u64("tensor offset");
    const uint64_t n = r.u64("tensor element count");
    if (p.offset > elements || n > elements - p.offset) {
      r.fail("tensor element count",
             fmt::format("piece [{}, +{}) lies outside the tensor's {} elements", p.offset, n,
                         elements));
    }
    p.data = r.floats("tensor data", n);
  }
  return pieces;
}

void checkChunk(WireReader& r, uint32_t index, uint32_t count) {
  if (count == 0 || index >= count) {
    r.fail("chunk_index", fmt::format("chunk {} of {} is not a chunk", index, count));
  }
}

}  // namespace

std::string messageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kClientHello:
      return "ClientHello";
    case MessageType::kServerHello:
      return "ServerHello";
    case MessageType::kClientAuth:
      return "ClientAuth";
    case MessageType::kSealed:
      return "Sealed";
    case MessageType::kWelcome:
      return "Welcome";
    case MessageType::kState:
      return "State";
    case MessageType::kAssign:
      return "Assign";
    case MessageType::kContribution:
      return "Contribution";
    case MessageType::kAck:
      return "Ack";
    case MessageType::kReject:
      return "Reject";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kBye:
      return "Bye";
  }
  return fmt::format("type {}", static_cast<unsigned>(type));
}

std::string rejectReasonText(RejectReason reason) {
  switch (reason) {
    case RejectReason::kUnsupportedVersion:
      return "unsupported wire version";
    case RejectReason::kWrongJob:
      return "not this job";
    case RejectReason::kNoCommonCipher:
      return "no common cipher suite";
    case RejectReason::kNotAllowed:
      return "not on the job's allowlist";
    case RejectReason::kMalformed:
      return "malformed message";
    case RejectReason::kUnexpected:
      return "unexpected message";
    case RejectReason::kLate:
      return "too late";
    case RejectReason::kBadHash:
      return "gradient hash does not match";
    case RejectReason::kBadSignature:
      return "signature does not verify";
    case RejectReason::kBusy:
      return "the job takes no more volunteers now";
  }
  return fmt::format("reason {}", static_cast<unsigned>(reason));
}

MessageType typeOf(const Message& message) {
  return std::visit(Overloaded{
                        [](const ClientHello&) { return MessageType::kClientHello; },
                        [](const ServerHello&) { return MessageType::kServerHello; },
                        [](const ClientAuth&) { return MessageType::kClientAuth; },
                        [](const Welcome&) { return MessageType::kWelcome; },
                        [](const State&) { return MessageType::kState; },
                        [](const Assign&) { return MessageType::kAssign; },
                        [](const Contribution&) { return MessageType::kContribution; },
                        [](const Ack&) { return MessageType::kAck; },
                        [](const Reject&) { return MessageType::kReject; },
                        [](const Heartbeat&) { return MessageType::kHeartbeat; },
                        [](const Bye&) { return MessageType::kBye; },
                    },
                    message);
}

MessageContext contextOf(const Message& message) {
  return std::visit(
      [](const auto& m) -> MessageContext {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, State>) {
          return {m.step, 0};
        } else if constexpr (std::is_same_v<T, Assign> || std::is_same_v<T, Contribution> ||
                             std::is_same_v<T, Ack> || std::is_same_v<T, Reject>) {
          return {m.step, m.micro_batch};
        } else {
          return {};
        }
      },
      message);
}

size_t bodyBytes(const Message& message) {
  return std::visit(
      Overloaded{
          [](const ClientHello& m) -> size_t { return 4 + 32 + 2 + m.job_id.size(); },
          [](const ServerHello&) -> size_t { return 2 + 32 + kSealedIdentityBytes; },
          [](const ClientAuth&) -> size_t { return kSealedIdentityBytes; },
          [](const Welcome& m) -> size_t {
            return 8 + 32 + 2 + m.job_id.size() + 4 + m.job_file.size();
          },
          [](const State& m) -> size_t { return 8 + 32 + 32 + 4 + 4 + piecesBytes(m.tensors); },
          [](const Assign&) -> size_t { return 24; },
          [](const Contribution& m) -> size_t {
            return 8 + 8 + 4 + 4 + 32 + 64 + piecesBytes(m.tensors);
          },
          [](const Ack&) -> size_t { return 2 + 8 + 8; },
          [](const Reject& m) -> size_t { return 2 + 2 + 8 + 8 + 2 + m.detail.size(); },
          [](const Heartbeat&) -> size_t { return 16; },
          [](const Bye& m) -> size_t { return 2 + 2 + m.detail.size(); },
      },
      message);
}

void encodeBody(const Message& message, Buffer& out) {
  WireWriter w(out);
  std::visit(Overloaded{
                 [&](const ClientHello& m) {
                   requireText(m.job_id, kMaxJobIdBytes, "a job id");
                   w.u32(m.cipher_suites);
                   w.fixed(m.ephemeral);
                   w.shortString(m.job_id);
                 },
                 [&](const ServerHello& m) {
                   w.u16(m.cipher);
                   w.fixed(m.ephemeral);
                   w.fixed(m.sealed_identity);
                 },
                 [&](const ClientAuth& m) { w.fixed(m.sealed_identity); },
                 [&](const Welcome& m) {
                   requireText(m.job_id, kMaxJobIdBytes, "a job id");
                   requireText(m.job_file, kMaxJobFileBytes, "a job file");
                   w.u64(m.node_id);
                   w.fixed(m.data_hash.bytes);
                   w.shortString(m.job_id);
                   w.longString(m.job_file);
                 },
                 [&](const State& m) {
                   require(m.chunk_count > 0 && m.chunk_index < m.chunk_count,
                           "volunteer wire: State chunk_index must be below chunk_count");
                   checkPieces(m.tensors);
                   w.u64(m.step);
                   w.fixed(m.state_hash.bytes);
                   w.fixed(m.chain_hash.bytes);
                   w.u32(m.chunk_index);
                   w.u32(m.chunk_count);
                   writePieces(w, m.tensors);
                 },
                 [&](const Assign& m) {
                   w.u64(m.step);
                   w.u64(m.micro_batch);
                   w.u64(m.deadline_ms);
                 },
                 [&](const Contribution& m) {
                   require(m.chunk_count > 0 && m.chunk_index < m.chunk_count,
                           "volunteer wire: Contribution chunk_index must be below chunk_count");
                   checkPieces(m.tensors);
                   w.u64(m.step);
                   w.u64(m.micro_batch);
                   w.u32(m.chunk_index);
                   w.u32(m.chunk_count);
                   w.fixed(m.gradient_hash.bytes);
                   w.fixed(m.signature);
                   writePieces(w, m.tensors);
                 },
                 [&](const Ack& m) {
                   w.u16(static_cast<uint16_t>(m.acked));
                   w.u64(m.step);
                   w.u64(m.micro_batch);
                 },
                 [&](const Reject& m) {
                   requireText(m.detail, kMaxTextBytes, "a reject detail");
                   w.u16(static_cast<uint16_t>(m.reason));
                   w.u16(static_cast<uint16_t>(m.rejected));
                   w.u64(m.step);
                   w.u64(m.micro_batch);
                   w.shortString(m.detail);
                 },
                 [&](const Heartbeat& m) {
                   w.u64(m.sequence);
                   w.u64(m.unix_ms);
                 },
                 [&](const Bye& m) {
                   requireText(m.detail, kMaxTextBytes, "a bye detail");
                   w.u16(static_cast<uint16_t>(m.reason));
                   w.shortString(m.detail);
                 },
             },
             message);
}

void writeFrameHeader(const FrameHeader& header, Buffer& out) {
  WireWriter w(out);
  w.fixed(kWireMagic);
  w.u16(header.version);
  w.u16(static_cast<uint16_t>(header.type));
  w.u32(header.body_bytes);
}

Buffer encode(const Message& message) {
  const size_t body = bodyBytes(message);
  require(
      kFrameHeaderBytes + body <= kMaxMessageBytes,
      fmt::format("volunteer wire: a {} message of {} bytes exceeds the limit of {} bytes; "
                  "split it into chunks",
                  messageTypeName(typeOf(message)), kFrameHeaderBytes + body, kMaxMessageBytes));
  Buffer out;
  out.reserve(kFrameHeaderBytes + body);
  writeFrameHeader({kWireVersion, typeOf(message), static_cast<uint32_t>(body)}, out);
  encodeBody(message, out);
  return out;
}

FrameHeader decodeFrameHeader(const uint8_t* bytes, size_t size) {
  WireReader r(bytes, size, "frame header");
  if (size > kMaxMessageBytes) {
    r.fail("length", fmt::format("{} bytes exceed the limit of {}", size, kMaxMessageBytes));
  }
  if (r.fixed<4>("magic") != kWireMagic) r.fail("magic", "not an mlcp volunteer message");
  FrameHeader h;
  h.version = r.u16("version");
  h.type = static_cast<MessageType>(r.u16("type"));
  h.body_bytes = r.u32("body length");
  if (h.body_bytes != r.remaining()) {
    r.fail("body length",
           fmt::format("the header says {} bytes, {} arrived{}", h.body_bytes, r.remaining(),
                       h.body_bytes > r.remaining() ? " (truncated)" : ""));
  }
  return h;
}

Message decodeBody(MessageType type, const uint8_t* body, size_t size) {
  WireReader r(body, size, messageTypeName(type) + " message");
  Message out;
  switch (type) {
    case MessageType::kClientHello: {
      ClientHello m;
      m.cipher_suites = r.u32("cipher_suites");
      m.ephemeral = r.fixed<32>("ephemeral");
      m.job_id = r.shortString("job_id", kMaxJobIdBytes);
      out = std::move(m);
      break;
    }
    case MessageType::kServerHello: {
      ServerHello m;
      m.cipher = r.u16("cipher");
      m.ephemeral = r.fixed<32>("ephemeral");
      m.sealed_identity = r.fixed<kSealedIdentityBytes>("sealed_identity");
      out = std::move(m);
      break;
    }
    case MessageType::kClientAuth: {
      ClientAuth m;
      m.sealed_identity = r.fixed<kSealedIdentityBytes>("sealed_identity");
      out = std::move(m);
      break;
    }
    case MessageType::kWelcome: {
      Welcome m;
      m.node_id = r.u64("node_id");
      m.data_hash = readHash(r, "data_hash");
      m.job_id = r.shortString("job_id", kMaxJobIdBytes);
      m.job_file = r.longString("job_file", kMaxJobFileBytes);
      out = std::move(m);
      break;
    }
    case MessageType::kState: {
      State m;
      m.step = r.u64("step");
      m.state_hash = readHash(r, "state_hash");
      m.chain_hash = readHash(r, "chain_hash");
      m.chunk_index = r.u32("chunk_index");
      m.chunk_count = r.u32("chunk_count");
      checkChunk(r, m.chunk_index, m.chunk_count);
      m.tensors = readPieces(r);
      out = std::move(m);
      break;
    }
    case MessageType::kAssign: {
      Assign m;
      m.step = r.u64("step");
      m.micro_batch = r.u64("micro_batch");
      m.deadline_ms = r.u64("deadline_ms");
      out = m;
      break;
    }
    case MessageType::kContribution: {
      Contribution m;
      m.step = r.u64("step");
      m.micro_batch = r.u64("micro_batch");
      m.chunk_index = r.u32("chunk_index");
      m.chunk_count = r.u32("chunk_count");
      checkChunk(r, m.chunk_index, m.chunk_count);
      m.gradient_hash = readHash(r, "gradient_hash");
      m.signature = r.fixed<64>("signature");
      m.tensors = readPieces(r);
      out = std::move(m);
      break;
    }
    case MessageType::kAck: {
      Ack m;
      m.acked = static_cast<MessageType>(r.u16("acked_type"));
      m.step = r.u64("step");
      m.micro_batch = r.u64("micro_batch");
      out = m;
      break;
    }
    case MessageType::kReject: {
      Reject m;
      m.reason = static_cast<RejectReason>(r.u16("reason"));
      m.rejected = static_cast<MessageType>(r.u16("rejected_type"));
      m.step = r.u64("step");
      m.micro_batch = r.u64("micro_batch");
      m.detail = r.shortString("detail", kMaxTextBytes);
      out = std::move(m);
      break;
    }
    case MessageType::kHeartbeat: {
      Heartbeat m;
      m.sequence = r.u64("sequence");
      m.unix_ms = r.u64("unix_ms");
      out = m;
      break;
    }
    case MessageType::kBye: {
      Bye m;
      m.reason = static_cast<ByeReason>(r.u16("reason"));
      m.detail = r.shortString("detail", kMaxTextBytes);
      out = std::move(m);
      break;
    }
    case MessageType::kSealed:
      r.fail("type", "a Sealed frame is opened by its session (secure_channel.h), not decoded");
    default:
      r.fail("type", fmt::format("unknown message type {}", static_cast<unsigned>(type)));
  }
  r.expectEnd();
  return out;
}

Message decode(const uint8_t* bytes, size_t size) {
  const FrameHeader h = decodeFrameHeader(bytes, size);
  if (h.version != kWireVersion) {
    throw CommError(
        fmt::format("volunteer message of wire version {}; this build speaks version {}", h.version,
                    kWireVersion));
  }
  return decodeBody(h.type, bytes + kFrameHeaderBytes, h.body_bytes);
}

}  // namespace mlcp::volunteer
