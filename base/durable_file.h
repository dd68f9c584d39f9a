// The one home of durable writes (checkpoints, final_state.bin, node keys, chain keys, the
// bridge's outbox): an owning file descriptor, full writes, fsync of a file and of its folder,
// atomic replacement, and reading a private key file. What is durable is what was fsynced before
// the rename that publishes it, and whose folder was fsynced after.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mlcp {

// Owns one file descriptor; closes it on destruction. Move-only.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& o) noexcept : fd_(o.release()) {}
  FileDescriptor& operator=(FileDescriptor&& o) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Writes all of `data` (retrying short writes and EINTR); throws IoError naming `path`.
void writeAll(int fd, std::string_view data, const std::string& path);
// fsync(fd); throws IoError naming `path`.
void syncFile(int fd, const std::string& path);
// fsync of a file or folder by path (a read-only descriptor is enough on Linux); IoError names it.
void syncPath(const std::string& path, bool directory);
// fsync of the folder holding `path`, so a create or rename in it is durable.
void syncParentDir(const std::string& path);
// Creates or truncates `path` with `mode`, writes `text` and fsyncs it (not atomic: callers
// write into a temporary name or folder and rename it into place).
void writeFileDurably(const std::string& path, std::string_view text, unsigned mode = 0644);
// rename(2); IoError naming both paths and the reason.
void renamePath(const std::string& from, const std::string& to);

// Replaces `path` with `text` so that readers see the old or the new file, never a mix:
// 1. write `path`.tmp with `mode`, 2. fsync it, 3. rename it over `path`, 4. fsync the folder.
// Parent folders are created with 0700. Throws UsageError when `path` exists and `overwrite`
// is false (naming `what`), IoError on failure.
void writeFileAtomic(const std::string& path, std::string_view text, unsigned mode, bool overwrite,
                     std::string_view what);

// The content lines of a private key file — trimmed, without blank lines and '#' comments —
// after checking that it is a regular file that group and others cannot access. UsageError
// names the file and the fix (`create_hint`: the command that makes one, e.g. "mlcp keys new").
std::vector<std::string> readPrivateFileLines(const std::string& path,
                                              std::string_view create_hint);

// Splits "field: value" (both trimmed); false when there is no ':'.
bool splitField(const std::string& line, std::string* field, std::string* value);

}  // namespace mlcp
