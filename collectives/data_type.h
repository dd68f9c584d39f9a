// Element types and reduction operators understood by every Communicator backend.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mlcp::collectives {

enum class DataType : uint8_t { kFloat32, kFloat64, kInt32, kInt64, kUInt8 };
enum class ReduceOp : uint8_t { kSum, kMax, kMin };

constexpr size_t dataTypeSize(DataType t) {
  switch (t) {
    case DataType::kFloat32:
      return 4;
    case DataType::kFloat64:
      return 8;
    case DataType::kInt32:
      return 4;
    case DataType::kInt64:
      return 8;
    case DataType::kUInt8:
      return 1;
  }
  return 0;
}

const char* dataTypeName(DataType t);
const char* reduceOpName(ReduceOp op);

}  // namespace mlcp::collectives
