// A read-only memory map of a whole file: the token shards are read through it, so a data set
// is paged in as windows are used and is never copied into memory whole.
//
// Contract: the mapping is private to the process and read-only (PROT_READ, MAP_PRIVATE); the
// file must not be truncated while mapped (reading past a truncated end raises SIGBUS), which
// is why the token data is verified once, when it is opened, and then only read. A MappedFile
// owns its descriptor and its mapping and releases both on destruction; it is move-only and
// safe to read from many threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mlcp::data {

class MappedFile {
 public:
  // Maps `path` whole. Throws UsageError naming the file when it does not exist, IoError when
  // it cannot be opened or mapped. An empty file maps to size() == 0 and data() == nullptr.
  explicit MappedFile(const std::string& path);
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Paging hints (madvise): a sequential pass (verification), then random windows (training).
  void adviseSequential() const;
  void adviseRandom() const;

 private:
  void release() noexcept;

  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace mlcp::data
