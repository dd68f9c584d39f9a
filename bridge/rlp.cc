#include "bridge/rlp.h"

#include <fmt/format.h>

#include "base/error.h"

namespace mlcp::bridge::rlp {

namespace {

// The length prefix for a payload of `len` bytes; `short_base` is 0x80 (string) or 0xc0 (list).
Bytes prefix(size_t len, uint8_t short_base) {
  if (len <= 55) return Bytes{static_cast<uint8_t>(short_base + len)};
  Bytes len_bytes = U256(static_cast<uint64_t>(len)).toMinimalBytes();
  Bytes out{static_cast<uint8_t>(short_base + 55 + len_bytes.size())};
  out.insert(out.end(), len_bytes.begin(), len_bytes.end());
  return out;
}

[[noreturn]] void malformed(const std::string& why) {
  throw InvalidArgument("malformed RLP: " + why);
}

// Decodes one item at data[pos..end); advances pos past it.
Item decodeAt(const Bytes& data, size_t& pos, size_t end, int depth) {
  if (depth > 64) malformed("nesting deeper than 64");
  if (pos >= end) malformed("unexpected end of input");
  uint8_t b = data[pos];
  Item item;
  auto readLen = [&](size_t n_len) -> size_t {
    if (n_len > 8 || pos + 1 + n_len > end) malformed("length prefix past the end");
    if (data[pos + 1] == 0) malformed("length with a leading zero byte");
    size_t len = 0;
    for (size_t i = 0; i < n_len; ++i) len = len << 8 | data[pos + 1 + i];
    if (len <= 55) malformed("long form used for a short payload");
    pos += 1 + n_len;
    return len;
  };
  size_t len = 0;
  if (b < 0x80) {
    item.bytes = {b};
    pos += 1;
    return item;
  } else if (b <= 0xb7) {
    len = b - 0x80;
    pos += 1;
    if (len == 1 && pos < end && data[pos] < 0x80) malformed("single byte below 0x80 wrapped");
  } else if (b < 0xc0) {
    len = readLen(b - 0xb7);
  } else if (b <= 0xf7) {
    item.is_list = true;
    len = b - 0xc0;
    pos += 1;
  } else {
    item.is_list = true;
    len = readLen(b - 0xf7);
  }
  if (len > end - pos) malformed(fmt::format("payload of {} bytes runs past the end", len));
  size_t stop = pos + len;
  if (!item.is_list) {
    item.bytes.assign(data.begin() + static_cast<std::ptrdiff_t>(pos),
                      data.begin() + static_cast<std::ptrdiff_t>(stop));
    pos = stop;
    return item;
  }
  while (pos < stop) item.items.push_back(decodeAt(data, pos, stop, depth + 1));
  return item;
}

}  // namespace

Bytes encodeString(const uint8_t* data, size_t size) {
  if (size == 1 && data[0] < 0x80) return Bytes{data[0]};
  Bytes out = prefix(size, 0x80);
  out.insert(out.end(), data, data + size);
  return out;
}

Bytes encodeList(const std::vector<Bytes>& encoded_items) {
  size_t total = 0;
  for (const Bytes& i : encoded_items) total += i.size();
  Bytes out = prefix(total, 0xc0);
  out.reserve(out.size() + total);
  for (const Bytes& i : encoded_items) out.insert(out.end(), i.begin(), i.end());
  return out;
}

Item decode(const Bytes& data) {
  size_t pos = 0;
  Item item = decodeAt(data, pos, data.size(), 0);
  if (pos != data.size()) malformed(fmt::format("{} trailing bytes", data.size() - pos));
  return item;
}

}  // namespace mlcp::bridge::rlp
