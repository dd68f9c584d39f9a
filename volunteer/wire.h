// The volunteer wire format, version 1: every message between a job's coordinator and a
// volunteer. Plain data, encoded and decoded by two pure functions; the decoder treats its input
// as hostile (wire_io.h: no length is trusted, nothing is allocated before its length was checked
// against a named limit and the bytes left).
//
// Frame (all integers little-endian):
//   magic "MLCV" (4) | version u16 (= kWireVersion) | type u16 | body length u32 | body
// A frame is exactly 12 + body length bytes, at most kMaxMessageBytes.
//
// Bodies ("str16" = u16 length + UTF-8 bytes; "str32" = u32 length + bytes; h32 = 32-byte hash):
//   type  name          body                                                          travels
//   1     ClientHello   cipher_suites u32, ephemeral[32], job_id str16                 plain
//   2     ServerHello   cipher u16, ephemeral[32], sealed_identity[112]                plain
//   3     ClientAuth    sealed_identity[112]                                          plain
//   16    Sealed        inner_type u16, reserved u16 (0), sequence u64, step u64,      —
//                       micro_batch u64, ciphertext of the inner body, tag[16]
//   32    Welcome       node_id u64, data_hash h32, job_id str16, job_file str32       sealed
//   33    State         step u64, state_hash h32, chain_hash h32, chunk_index u32,     sealed
//                       chunk_count u32, tensor_count u32, TensorPiece x tensor_count
//   34    Assign        step u64, micro_batch u64, deadline_ms u64                     sealed
//   35    Contribution  step u64, micro_batch u64, chunk_index u32, chunk_count u32,   sealed
//                       gradient_hash h32, signature[64], tensor_count u32,
//                       TensorPiece x tensor_count
//   36    Ack           acked_type u16, step u64, micro_batch u64                      sealed
//   37    Reject        reason u16, rejected_type u16, step u64, micro_batch u64,      sealed, or
//                       detail str16                                                  plain in a
//                                                                                     handshake
//   38    Heartbeat     sequence u64, unix_ms u64                                      sealed
//   39    Bye           reason u16, detail str16                                       sealed
// TensorPiece: name str16, index u32 (parameter order), rank u8, shape u64 x rank, offset u64
//   (first element of the piece in the flattened tensor), count u64, float32 x count. A tensor
//   larger than one message travels as several pieces (offset/count); rank 0 is a scalar.
// The handshake (types 1-3, then a sealed Ack or Reject) is handshake.h; Sealed frames are
// secure_channel.h. Step and micro-batch of a type without them are 0.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "base/digest.h"
#include "collectives/ucx/buffer.h"
#include "verify/node_key.h"

namespace mlcp::volunteer {

using collectives::ucx::Buffer;

constexpr std::array<uint8_t, 4> kWireMagic = {'M', 'L', 'C', 'V'};
constexpr uint16_t kWireVersion = 1;

// ---- limits (the decoder rejects anything over them) -----------------------------------------
constexpr size_t kMaxMessageBytes = size_t{64} << 20;  // a whole frame, headers included
constexpr size_t kMaxJobIdBytes = 128;
constexpr size_t kMaxJobFileBytes = size_t{1} << 20;
constexpr size_t kMaxNameBytes = 256;           // a tensor's name
constexpr size_t kMaxTextBytes = 1024;          // Reject and Bye details
constexpr size_t kMaxTensorsPerMessage = 4096;  // TensorPieces in one State/Contribution
constexpr size_t kMaxTensorRank = 8;
constexpr uint64_t kMaxTensorElements = uint64_t{1} << 40;  // elements of one whole tensor

constexpr size_t kFrameHeaderBytes = 12;
constexpr size_t kSealedHeaderBytes = 28;
constexpr size_t kAeadTagBytes = 16;
// An ed25519 identity (32) and a signature (64) under a 16-byte AEAD tag.
constexpr size_t kSealedIdentityBytes = 32 + 64 + kAeadTagBytes;

enum class MessageType : uint16_t {
  kClientHello = 1,
  kServerHello = 2,
  kClientAuth = 3,
  kSealed = 16,
  kWelcome = 32,
  kState = 33,
  kAssign = 34,
  kContribution = 35,
  kAck = 36,
  kReject = 37,
  kHeartbeat = 38,
  kBye = 39,
};

// "State", "Contribution", or "type 77" for an unknown value.
std::string messageTypeName(MessageType type);

enum class RejectReason : uint16_t {
  kUnsupportedVersion = 1,  // handshake: the frame's version is not this build's
  kWrongJob = 2,            // handshake: the job id is not this job's
  kNoCommonCipher = 3,      // handshake: no cipher suite both sides have
  kNotAllowed = 4,          // handshake: the volunteer's key is not on the job's allowlist
  kMalformed = 5,           // a message did not decode
  kUnexpected = 6,          // a message that is not valid in this state of the protocol
  kLate = 7,                // a contribution after its deadline or for an old step
  kBadHash = 8,             // the gradient hash does not match the tensors
  kBadSignature = 9,        // the contribution's signature does not verify
  kBusy = 10,               // the job takes no more volunteers now
};
// "not on the job's allowlist", or "reason 77" for an unknown value.
std::string rejectReasonText(RejectReason reason);

enum class ByeReason : uint16_t {
  kDone = 0,      // the job finished
  kShutdown = 1,  // the sender stops (volunteer leaves, job stops)
  kEvicted = 2,   // the coordinator drops this volunteer (too slow, wrong results)
  kError = 3,     // the sender hit an error (detail says which)
};

struct TensorPiece {
  std::string name;  // State: the parameter's name; Contribution: may be empty
  uint32_t index = 0;
  std::vector<uint64_t> shape;  // the whole tensor's shape
  uint64_t offset = 0;          // first element of `data` in the flattened tensor
  std::vector<float> data;
};

struct ClientHello {
  uint32_t cipher_suites = 0;  // bit set of CipherSuite (secure_channel.h)
  std::array<uint8_t, 32> ephemeral{};
  std::string job_id;
};

struct ServerHello {
  uint16_t cipher = 0;
  std::array<uint8_t, 32> ephemeral{};
  std::array<uint8_t, kSealedIdentityBytes> sealed_identity{};
};

struct ClientAuth {
  std::array<uint8_t, kSealedIdentityBytes> sealed_identity{};
};

struct Welcome {
  uint64_t node_id = 0;  // the volunteer's id in this job
  Hash256 data_hash;     // content hash of the job's data set
  std::string job_id;
  std::string job_file;  // the job file's text (TOML)
};

struct State {
  uint64_t step = 0;
  Hash256 state_hash;  // the state the volunteer computes from
  Hash256 chain_hash;  // the state chain up to this step
  uint32_t chunk_index = 0;
  uint32_t chunk_count = 1;  // a large model's parameters span several State messages
  std::vector<TensorPiece> tensors;
};

struct Assign {
  uint64_t step = 0;
  uint64_t micro_batch = 0;  // the logical micro-batch index
  uint64_t deadline_ms = 0;  // time allowed from receipt (relative: no clock agreement needed)
};

struct Contribution {
  uint64_t step = 0;
  uint64_t micro_batch = 0;
  uint32_t chunk_index = 0;
  uint32_t chunk_count = 1;
  Hash256 gradient_hash;          // contribution.h: over the whole tensors in parameter order
  verify::Signature signature{};  // contribution.h: the volunteer's over (job, step, mb, hash)
  std::vector<TensorPiece> tensors;
};

struct Ack {
  MessageType acked = MessageType::kAck;
  uint64_t step = 0;
  uint64_t micro_batch = 0;
};

struct Reject {
  RejectReason reason = RejectReason::kMalformed;
  MessageType rejected = MessageType::kReject;
  uint64_t step = 0;
  uint64_t micro_batch = 0;
  std::string detail;
};

struct Heartbeat {
  uint64_t sequence = 0;
  uint64_t unix_ms = 0;  // the sender's clock, informational
};

struct Bye {
  ByeReason reason = ByeReason::kShutdown;
  std::string detail;
};

using Message = std::variant<ClientHello, ServerHello, ClientAuth, Welcome, State, Assign,
                             Contribution, Ack, Reject, Heartbeat, Bye>;

MessageType typeOf(const Message& message);
// The (step, micro-batch) a message is about; (0, 0) for types without them. A Sealed frame's
// header repeats them, and they are bound into its associated data.
struct MessageContext {
  uint64_t step = 0;
  uint64_t micro_batch = 0;
};
MessageContext contextOf(const Message& message);

struct FrameHeader {
  uint16_t version = 0;
  MessageType type = MessageType::kAck;
  uint32_t body_bytes = 0;
};

// ---- encoding --------------------------------------------------------------------------------
// The body alone (no frame header). Throws InvalidArgument when a field exceeds its limit (a
// programming error on the sending side: chunk States and Contributions under kMaxMessageBytes).
void encodeBody(const Message& message, Buffer& out);
// The exact size encodeBody appends.
size_t bodyBytes(const Message& message);
// A whole plaintext frame: header + body.
Buffer encode(const Message& message);
void writeFrameHeader(const FrameHeader& header, Buffer& out);

// ---- decoding (hostile input) ----------------------------------------------------------------
// The frame header of `bytes`: checks the magic, the body length against the bytes present
// (exactly) and kMaxMessageBytes; the version is returned, not checked (a responder answers an
// unknown version with Reject kUnsupportedVersion). Throws CommError naming what is wrong.
FrameHeader decodeFrameHeader(const uint8_t* bytes, size_t size);
// A body of `type`. Throws CommError for malformed input, for a type that has no plain body
// (kSealed) and for an unknown type.
Message decodeBody(MessageType type, const uint8_t* body, size_t size);
// A whole plaintext frame of this version (decodeFrameHeader + version check + decodeBody).
Message decode(const uint8_t* bytes, size_t size);
inline Message decode(const Buffer& frame) { return decode(frame.data(), frame.size()); }

}  // namespace mlcp::volunteer
