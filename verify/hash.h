// Tensor hashes: BLAKE2b-256 (libsodium crypto_generichash, 32-byte digest, no key) over a
// tensor's canonical bytes. The canonical bytes are the contract an independent program
// recomputes (docs/checkpoint-format.md, "Tensor hash"):
//
//   u8 len(dtype_name) || dtype_name (ASCII, e.g. "float32")
//   || le64 rank || le64 dim_0 || ... || le64 dim_{rank-1}
//   || the elements in row-major (C) order, each little-endian
//
// Only the dtype, the shape and the element bytes enter the hash; the tensor's name enters at
// the Merkle leaf (verify/merkle.h), the file it lives in nowhere.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"

namespace mlcp::verify {

using mlcp::Blake2b256;
using mlcp::blake2b256;
using mlcp::chainHash;
using mlcp::Hash256;

// Element types a checkpoint stores. The names are part of the hash and of the file format:
// never rename one, only add.
enum class DType : uint8_t { kFloat32, kFloat64, kInt64, kInt32, kUInt8 };

// "float32", "float64", "int64", "int32", "uint8".
const char* dtypeName(DType dtype);
// Throws InvalidArgument for a name not in the list above.
DType dtypeFromName(std::string_view name);
size_t dtypeSize(DType dtype);

// Product of the dims (1 for rank 0). Throws InvalidArgument for a negative dim or overflow.
int64_t numElements(const std::vector<int64_t>& shape);

// A borrowed, read-only view of one logical tensor in host memory, elements row-major.
// Invariant checked by checkView(): bytes == numElements(shape) * dtypeSize(dtype), and
// data != nullptr unless bytes == 0.
struct TensorView {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t bytes = 0;
};

// Throws InvalidArgument naming the tensor when the view's invariant does not hold.
void checkView(const TensorView& view);

// The canonical header (everything before the element bytes) for a dtype and shape.
std::string canonicalTensorHeader(DType dtype, const std::vector<int64_t>& shape);

// BLAKE2b-256 of the canonical bytes of `view` (header, then the element bytes).
Hash256 hashTensor(const TensorView& view);
Hash256 hashTensor(DType dtype, const std::vector<int64_t>& shape, const void* data, size_t bytes);

// hashTensor of every view, the views spread over `threads` threads (0: one per hardware
// thread, at most one per tensor; largest tensors first). One tensor's hash is sequential.
std::vector<Hash256> hashTensors(const std::vector<TensorView>& views, int threads = 0);

}  // namespace mlcp::verify
