#include "volunteer/wire_io.h"

#include <fmt/format.h>

#include "base/error.h"

namespace mlcp::volunteer {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the volunteer wire format is little-endian and read with memcpy");

void WireReader::fail(const char* field, const std::string& why) const {
  throw CommError(fmt::format("malformed {}: {}: {}", what_, field, why));
}

const uint8_t* WireReader::take(size_t bytes, const char* field) {
  if (bytes > remaining()) {
    fail(field, fmt::format("needs {} bytes at offset {}, only {} left (truncated)", bytes, pos_,
                            remaining()));
  }
  const uint8_t* p = data_ + pos_;
  pos_ += bytes;
  return p;
}

uint8_t WireReader::u8(const char* field) { return *take(1, field); }

uint16_t WireReader::u16(const char* field) {
  uint16_t v;
  std::memcpy(&v, take(2, field), 2);
  return v;
}

uint32_t WireReader::u32(const char* field) {
  uint32_t v;
  std::memcpy(&v, take(4, field), 4);
  return v;
}

uint64_t WireReader::u64(const char* field) {
  uint64_t v;
  std::memcpy(&v, take(8, field), 8);
  return v;
}

std::string WireReader::shortString(const char* field, size_t max_bytes) {
  const uint16_t n = u16(field);
  if (n > max_bytes) fail(field, fmt::format("{} bytes exceed the limit of {}", n, max_bytes));
  const uint8_t* p = take(n, field);
  return std::string(reinterpret_cast<const char*>(p), n);
}

std::string WireReader::longString(const char* field, size_t max_bytes) {
  const uint32_t n = u32(field);
  if (n > max_bytes) fail(field, fmt::format("{} bytes exceed the limit of {}", n, max_bytes));
  const uint8_t* p = take(n, field);
  return std::string(reinterpret_cast<const char*>(p), n);
}

std::vector<float> WireReader::floats(const char* field, uint64_t count) {
  if (count > remaining() / sizeof(float)) {
    fail(field, fmt::format("{} float32 values need {} bytes, only {} left (truncated)", count,
                            count * sizeof(float), remaining()));
  }
  const size_t n = static_cast<size_t>(count);
  std::vector<float> out(n);
  if (n > 0) std::memcpy(out.data(), take(n * sizeof(float), field), n * sizeof(float));
  return out;
}

void WireReader::expectEnd() {
  if (remaining() != 0) fail("end", fmt::format("{} trailing bytes", remaining()));
}

void WireWriter::put(const void* data, size_t bytes) {
  if (bytes == 0) return;
  const size_t at = out_.size();
  out_.resize(at + bytes);
  std::memcpy(out_.data() + at, data, bytes);
}

void WireWriter::u16(uint16_t v) { put(&v, 2); }
void WireWriter::u32(uint32_t v) { put(&v, 4); }
void WireWriter::u64(uint64_t v) { put(&v, 8); }

void WireWriter::shortString(const std::string& s) {
  u16(static_cast<uint16_t>(s.size()));
  put(s.data(), s.size());
}

void WireWriter::longString(const std::string& s) {
  u32(static_cast<uint32_t>(s.size()));
  put(s.data(), s.size());
}

void WireWriter::floats(const float* data, size_t count) { put(data, count * sizeof(float)); }

}  // namespace mlcp::volunteer
