#include "base/durable_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/error.h"

namespace mlcp {

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

void writeAll(int fd, std::string_view data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
}

void syncFile(int fd, const std::string& path) {
  if (::fsync(fd) != 0)
    throw IoError(fmt::format("cannot fsync {}: {}", path, std::strerror(errno)));
}

void syncPath(const std::string& path, bool directory) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0)));
  if (!fd.valid()) {
    throw IoError(fmt::format("cannot open {} to fsync it: {}", path, std::strerror(errno)));
  }
  syncFile(fd.get(), path);
}

void syncParentDir(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) parent = ".";
  syncPath(parent.string(), /*directory=*/true);
}

void writeFileDurably(const std::string& path, std::string_view text, unsigned mode) {
  FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) throw IoError(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  writeAll(fd.get(), text, path);
  syncFile(fd.get(), path);
}

void renamePath(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    throw IoError(fmt::format("cannot rename {} to {}: {}", from, to, std::strerror(errno)));
  }
}

void writeFileAtomic(const std::string& path, std::string_view text, unsigned mode, bool overwrite,
                     std::string_view what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!overwrite && fs::exists(path, ec)) {
    throw UsageError(fmt::format("{} {} already exists (use --force to replace it)", what, path));
  }
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::exists(parent, ec)) {
    fs::create_directories(parent, ec);
    if (ec)
      throw IoError(fmt::format("cannot create folder {}: {}", parent.string(), ec.message()));
    ::chmod(parent.c_str(), 0700);
  }
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  FileDescriptor fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd.valid()) throw IoError(fmt::format("cannot create {}: {}", tmp, std::strerror(errno)));
  try {
    writeAll(fd.get(), text, tmp);
    if (::fchmod(fd.get(), mode) != 0) {
      throw IoError(fmt::format("cannot chmod {}: {}", tmp, std::strerror(errno)));
    }
    syncFile(fd.get(), tmp);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  fd = FileDescriptor();
  if (!overwrite && fs::exists(path, ec)) {
    ::unlink(tmp.c_str());
    throw UsageError(fmt::format("{} {} already exists (use --force to replace it)", what, path));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw IoError(fmt::format("cannot rename {} to {}: {}", tmp, path, std::strerror(err)));
  }
  syncParentDir(path);
}

namespace {

std::string trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

}  // namespace

std::vector<std::string> readPrivateFileLines(const std::string& path,
                                              std::string_view create_hint) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw UsageError(fmt::format("cannot read key file {}: {} (create one with `{}`)", path,
                                 std::strerror(errno), create_hint));
  }
  if (!S_ISREG(st.st_mode))
    throw UsageError(fmt::format("key file {} is not a regular file", path));
  if ((st.st_mode & 077) != 0) {
    throw UsageError(
        fmt::format("key file {} has mode {:04o}: it must not be accessible by group or others "
                    "(run `chmod 600 {}`)",
                    path, st.st_mode & 07777, path));
  }
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("cannot open key file {}", path));
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    line = trimmed(line);
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  return lines;
}

bool splitField(const std::string& line, std::string* field, std::string* value) {
  const size_t colon = line.find(':');
  if (colon == std::string::npos) return false;
  *field = trimmed(line.substr(0, colon));
  *value = trimmed(line.substr(colon + 1));
  return true;
}

}  // namespace mlcp
