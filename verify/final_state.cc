#include "verify/final_state.h"

#include <fmt/format.h>

#include <cstring>

#include "base/durable_file.h"
#include "base/error.h"
#include "verify/hash.h"

namespace mlcp::verify {
namespace {

constexpr char kMagic[] = "MLCPPAR1";
constexpr size_t kMagicSize = 8;

void put64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }

}  // namespace

std::string encodeFinalState(const std::vector<FinalStateEntry>& entries) {
  std::string bytes(kMagic, kMagicSize);
  put64(bytes, entries.size());
  for (const auto& e : entries) {
    put64(bytes, e.name.size());
    bytes += e.name;
    put64(bytes, e.shape.size());
    uint64_t count = 1;
    for (int64_t d : e.shape) {
      put64(bytes, static_cast<uint64_t>(d));
      count *= static_cast<uint64_t>(d);
    }
    put64(bytes, count * sizeof(float));
    bytes.append(reinterpret_cast<const char*>(e.data), count * sizeof(float));
  }
  return bytes;
}

std::vector<FinalStateTensor> decodeFinalState(const std::string& bytes,
                                               const std::string& source) {
  size_t pos = 0;
  auto fail = [&](const std::string& what) {
    return VerificationError(fmt::format("{}: {} at byte {}", source, what, pos));
  };
  auto get64 = [&]() {
    if (bytes.size() - pos < 8) throw fail("truncated");
    uint64_t v = 0;
    std::memcpy(&v, bytes.data() + pos, 8);
    pos += 8;
    return v;
  };
  if (bytes.size() < kMagicSize || bytes.compare(0, kMagicSize, kMagic) != 0) {
    throw fail("not a final_state.bin (no MLCPPAR1 header)");
  }
  pos = kMagicSize;
  const uint64_t count = get64();
  std::vector<FinalStateTensor> out;
  for (uint64_t i = 0; i < count; ++i) {
    FinalStateTensor t;
    const uint64_t name_len = get64();
    if (bytes.size() - pos < name_len) throw fail("truncated name");
    t.name = bytes.substr(pos, name_len);
    pos += name_len;
    const uint64_t ndim = get64();
    if (ndim > 16) throw fail(fmt::format("{} dimensions", ndim));
    uint64_t n = 1;
    for (uint64_t d = 0; d < ndim; ++d) {
      const uint64_t size = get64();
      if (size > (uint64_t{1} << 40) || (size != 0 && n > (uint64_t{1} << 40) / size)) {
        throw fail("a dimension too large");
      }
      t.shape.push_back(static_cast<int64_t>(size));
      n *= size;
    }
    const uint64_t nbytes = get64();
    if (nbytes != n * sizeof(float)) throw fail(fmt::format("{} bytes for {} floats", nbytes, n));
    if (bytes.size() - pos < nbytes) throw fail("truncated data");
    t.values.resize(n);
    // A tensor with a zero dimension has no data (and values.data() may be null).
    if (nbytes > 0) std::memcpy(t.values.data(), bytes.data() + pos, nbytes);
    pos += nbytes;
    out.push_back(std::move(t));
  }
  if (pos != bytes.size()) throw fail("trailing bytes");
  return out;
}

std::string writeFinalState(const std::string& path, const std::vector<FinalStateEntry>& entries) {
  const std::string bytes = encodeFinalState(entries);
  writeFileAtomic(path, bytes, 0644, /*overwrite=*/true, "the final state");
  return blake2b256(bytes).hex();
}

}  // namespace mlcp::verify
