// Bounds-checked little-endian reading and writing of the volunteer wire format (wire.h).
//
// WireReader never trusts a length it reads: every read first checks that the bytes are there,
// and a variable-length field is checked against its named limit and against the bytes left
// before anything is allocated for it. A failed check throws CommError("malformed <what>:
// <field>: ...") naming the message and the field.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "collectives/ucx/buffer.h"

namespace mlcp::volunteer {

class WireReader {
 public:
  // Reads `bytes` at `data` (not copied: they must outlive the reader). `what` names the
  // message in errors ("State message").
  WireReader(const uint8_t* data, size_t bytes, std::string what)
      : data_(data), size_(bytes), what_(std::move(what)) {}

  size_t remaining() const { return size_ - pos_; }
  size_t position() const { return pos_; }

  uint8_t u8(const char* field);
  uint16_t u16(const char* field);
  uint32_t u32(const char* field);
  uint64_t u64(const char* field);
  template <size_t N>
  std::array<uint8_t, N> fixed(const char* field) {
    std::array<uint8_t, N> out;
    std::memcpy(out.data(), take(N, field), N);
    return out;
  }
  // A string with a u16 length (short) or a u32 length (text), at most `max_bytes` long.
  std::string shortString(const char* field, size_t max_bytes);
  std::string longString(const char* field, size_t max_bytes);
  // `count` little-endian float32 values; `count` was read from the wire, so it is checked
  // against the bytes left before the vector is allocated.
  std::vector<float> floats(const char* field, uint64_t count);
  // The next `bytes` bytes, in place.
  const uint8_t* take(size_t bytes, const char* field);
  // Throws unless every byte was consumed ("N trailing bytes").
  void expectEnd();

  // Throws CommError("malformed <what>: <field>: <why>").
  [[noreturn]] void fail(const char* field, const std::string& why) const;

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string what_;
};

// Appends to a buffer; callers check limits before writing (encode() in wire.cc does).
class WireWriter {
 public:
  explicit WireWriter(collectives::ucx::Buffer& out) : out_(out) {}

  void u8(uint8_t v) { put(&v, 1); }
  void u16(uint16_t v);
  void u32(uint32_t v);
  void u64(uint64_t v);
  template <size_t N>
  void fixed(const std::array<uint8_t, N>& a) {
    put(a.data(), N);
  }
  void shortString(const std::string& s);  // u16 length
  void longString(const std::string& s);   // u32 length
  void floats(const float* data, size_t count);
  void put(const void* data, size_t bytes);

 private:
  collectives::ucx::Buffer& out_;
};

}  // namespace mlcp::volunteer
