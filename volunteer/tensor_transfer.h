// Whole float32 tensors in and out of State and Contribution messages (wire.h): a sender cuts
// its tensors, in order, into TensorPieces that fill messages of at most a byte budget each; a
// receiver puts them back together, checking every piece against the tensors it expects.
//
// Contract:
// - Order: pieces travel in tensor order and, within a tensor, by increasing offset, with no
//   gap and no overlap (a UCX endpoint delivers in order, so an honest sender always meets
//   this). The assembler rejects anything else — a wrong index, shape or offset, a piece past
//   its tensor's end, a chunk number out of sequence — with CommError naming the field: it
//   never writes outside a tensor it allocated from its own expected shapes.
// - Memory: the assembler allocates each tensor once, from the expected shapes, never from a
//   length read from the wire.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "volunteer/wire.h"

namespace mlcp::volunteer {

// A whole tensor to send: borrowed data of `count` = product(shape) floats.
struct TensorRef {
  std::string name;
  std::vector<uint64_t> shape;
  const float* data = nullptr;
  uint64_t count = 0;
};

// The pieces of `tensors`, grouped into messages whose TensorPieces carry at most
// `floats_per_message` values in all (at least one message, even for no tensors).
std::vector<std::vector<TensorPiece>> splitTensors(const std::vector<TensorRef>& tensors,
                                                   uint64_t floats_per_message);

// The float budget that keeps a State or Contribution of `tensor_count` tensors under
// kMaxMessageBytes (headers, names and shapes included), capped at `cap`. The default cap,
// 16384 floats (64 KiB), is the message size the sealed channel moves fastest over UCX's TCP
// transport (bench_volunteer_transport on loopback: 0.64-0.85 GB/s sealed at 64 KiB, 0.41 at
// 256 KiB, 0.26-0.36 at 1 MiB, 0.16 at 16 MiB — larger messages go by UCX's rendezvous protocol).
uint64_t floatsPerMessage(size_t tensor_count, uint64_t cap = uint64_t{1} << 14);

class TensorAssembler {
 public:
  // The shapes of the tensors expected, in order; `what` names them in errors.
  TensorAssembler(std::vector<std::vector<uint64_t>> shapes, std::string what);

  // Chunk `chunk_index` of `chunk_count`: chunks come in order 0, 1, ...; every chunk of one
  // assembly names the same count.
  void add(uint32_t chunk_index, uint32_t chunk_count, std::vector<TensorPiece>&& pieces);
  // Every chunk arrived and every tensor is full.
  bool complete() const;
  // The tensors (once complete); the assembler is then empty.
  std::vector<std::vector<float>> take();

 private:
  [[noreturn]] void fail(const std::string& why) const;

  std::vector<std::vector<uint64_t>> shapes_;
  std::string what_;
  std::vector<std::vector<float>> tensors_;
  size_t tensor_ = 0;    // the tensor being filled
  uint64_t filled_ = 0;  // its elements so far
  uint32_t next_chunk_ = 0;
  uint32_t chunk_count_ = 0;
};

uint64_t elementCount(const std::vector<uint64_t>& shape);

}  // namespace mlcp::volunteer
