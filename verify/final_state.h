// final_state.bin: every parameter of a finished run in the logical layout, in name order — the
// file whose BLAKE2b-256 hash `mlcp run` prints last, equal on every placement of the same job.
//
// Format (little-endian): the 8 bytes "MLCPPAR1", u64 count, then per parameter: u64 name
// length, the name's bytes, u64 ndim, i64 dims..., u64 byte count, the float32 data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mlcp::verify {

struct FinalStateEntry {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;  // product(shape) values
};

// The file's bytes.
std::string encodeFinalState(const std::vector<FinalStateEntry>& entries);

struct FinalStateTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};
// Parses the bytes of a final_state.bin; VerificationError naming `source` and the offset where
// they are truncated or malformed.
std::vector<FinalStateTensor> decodeFinalState(const std::string& bytes, const std::string& source);

// Writes the file durably (base/durable_file.h: temporary file, fsync, rename, fsync of the
// folder) and returns its BLAKE2b-256 hash in hex.
std::string writeFinalState(const std::string& path, const std::vector<FinalStateEntry>& entries);

}  // namespace mlcp::verify
