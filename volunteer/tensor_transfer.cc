#include "volunteer/tensor_transfer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <utility>

#include "base/error.h"

namespace mlcp::volunteer {

uint64_t elementCount(const std::vector<uint64_t>& shape) {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

uint64_t floatsPerMessage(size_t tensor_count, uint64_t cap) {
  // Per piece at most: name, index, rank, shape, offset, count.
  const uint64_t per_piece = 2 + kMaxNameBytes + 4 + 1 + 8 * kMaxTensorRank + 16;
  const uint64_t fixed = kFrameHeaderBytes + kSealedHeaderBytes + kAeadTagBytes + 256 +
                         per_piece * std::min<uint64_t>(tensor_count, kMaxTensorsPerMessage);
  return std::min<uint64_t>(cap, (kMaxMessageBytes - fixed) / sizeof(float));
}

std::vector<std::vector<TensorPiece>> splitTensors(const std::vector<TensorRef>& tensors,
                                                   uint64_t floats_per_message) {
  if (floats_per_message == 0) throw InvalidArgument("splitTensors: a zero float budget");
  std::vector<std::vector<TensorPiece>> messages(1);
  uint64_t room = floats_per_message;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorRef& t = tensors[i];
    uint64_t offset = 0;
    do {  // an empty tensor still travels, as one empty piece
      if (room == 0 || messages.back().size() == kMaxTensorsPerMessage) {
        messages.emplace_back();
        room = floats_per_message;
      }
      const uint64_t n = std::min(room, t.count - offset);
      TensorPiece piece;
      piece.name = t.name;
      piece.index = static_cast<uint32_t>(i);
      piece.shape = t.shape;
      piece.offset = offset;
      piece.data.assign(t.data + offset, t.data + offset + n);
      messages.back().push_back(std::move(piece));
      offset += n;
      room -= n;
    } while (offset < t.count);
  }
  return messages;
}

TensorAssembler::TensorAssembler(std::vector<std::vector<uint64_t>> shapes, std::string what)
    : shapes_(std::move(shapes)), what_(std::move(what)) {
  tensors_.reserve(shapes_.size());
}

void TensorAssembler::fail(const std::string& why) const {
  throw CommError(fmt::format("malformed {}: {}", what_, why));
}

void TensorAssembler::add(uint32_t chunk_index, uint32_t chunk_count,
                          std::vector<TensorPiece>&& pieces) {
  if (chunk_count == 0) fail("chunk_count 0");
  if (next_chunk_ == 0) chunk_count_ = chunk_count;
  if (chunk_count != chunk_count_) {
    fail(fmt::format("chunk_count {} where the first chunk said {}", chunk_count, chunk_count_));
  }
  if (chunk_index != next_chunk_) {
    fail(fmt::format("chunk {} where chunk {} was next", chunk_index, next_chunk_));
  }
  if (chunk_index >= chunk_count) fail(fmt::format("chunk {} of {}", chunk_index, chunk_count));
  ++next_chunk_;
  for (TensorPiece& piece : pieces) {
    // A tensor is done when full; the next piece starts the next one.
    while (tensor_ < shapes_.size() && tensors_.size() > tensor_ &&
           filled_ == elementCount(shapes_[tensor_])) {
      ++tensor_;
      filled_ = 0;
    }
    if (tensor_ >= shapes_.size()) fail(fmt::format("more than {} tensors", shapes_.size()));
    if (piece.index != tensor_) {
      fail(fmt::format("tensor index {} where tensor {} was next", piece.index, tensor_));
    }
    if (piece.shape != shapes_[tensor_]) {
      fail(fmt::format("tensor {} has shape [{}], expected [{}]", tensor_,
                       fmt::join(piece.shape, ", "), fmt::join(shapes_[tensor_], ", ")));
    }
    const uint64_t total = elementCount(shapes_[tensor_]);
    if (tensors_.size() == tensor_) tensors_.emplace_back().reserve(total);
    if (piece.offset != filled_) {
      fail(fmt::format("tensor {} piece at offset {} where {} was next", tensor_, piece.offset,
                       filled_));
    }
    if (piece.data.size() > total - filled_) {
      fail(fmt::format("tensor {} piece of {} values past its {} elements", tensor_,
                       piece.data.size(), total));
    }
    auto& t = tensors_[tensor_];
    t.insert(t.end(), piece.data.begin(), piece.data.end());
    filled_ += piece.data.size();
  }
  if (next_chunk_ == chunk_count_ && !complete()) {
    fail(fmt::format("the last chunk leaves {} of {} tensors complete",
                     tensors_.size() - (tensors_.empty() ? 0 : 1), shapes_.size()));
  }
}

bool TensorAssembler::complete() const {
  if (chunk_count_ == 0 || next_chunk_ != chunk_count_) return false;
  if (tensors_.size() != shapes_.size()) return false;
  return shapes_.empty() || filled_ == elementCount(shapes_.back());
}

std::vector<std::vector<float>> TensorAssembler::take() {
  if (!complete()) fail("the tensors are incomplete");
  next_chunk_ = chunk_count_ = 0;
  tensor_ = 0;
  filled_ = 0;
  return std::exchange(tensors_, {});
}

}  // namespace mlcp::volunteer
