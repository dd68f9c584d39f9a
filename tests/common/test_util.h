// Helpers shared by tests: run a command and capture its output and exit code, make a fresh
// temporary directory, locate the built `mlcp` binary and the source tree.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace mlcp::test {

struct CommandResult {
  int exit_code = -1;  // the process's exit status; 128+N when killed by signal N
  std::string output;  // stdout and stderr together
};

// Runs `command` through /bin/sh, capturing stdout+stderr.
CommandResult runCommand(const std::string& command);

// A new empty directory under $TMPDIR (or /tmp), removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "mlcp-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A shell command running in the background in its own process group, output to a log file.
// The destructor kills the whole group if it is still running (no stray ranks after a test).
class BackgroundProcess {
 public:
  BackgroundProcess(const std::string& command, const std::string& log_path);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  // Waits up to `seconds` for the process to exit; returns its exit code (128+N for signal N)
  // or -1 if it is still running at the deadline.
  int waitFor(double seconds);
  bool running();
  int pid() const { return pid_; }
  std::string log() const;

 private:
  int pid_ = -1;
  int status_ = -1;
  bool done_ = false;
  std::string log_path_;
};

// A tmpfs of its own at `path` (created), mounted for a test and unmounted when this goes; ok()
// is false, with the reason in why(), where mounting is not allowed (it needs root).
class ScopedTmpfs {
 public:
  ScopedTmpfs(const std::string& path, const std::string& size);
  ~ScopedTmpfs();
  ScopedTmpfs(const ScopedTmpfs&) = delete;
  ScopedTmpfs& operator=(const ScopedTmpfs&) = delete;
  bool ok() const { return mounted_; }
  const std::string& why() const { return why_; }

 private:
  std::string path_, why_;
  bool mounted_ = false;
};

// Polls `predicate` every 20 ms until it returns true or `seconds` pass; returns its last value.
bool waitUntil(double seconds, const std::function<bool()>& predicate);

std::string sourceDir();   // the repository root
std::string binaryDir();   // the CMake build directory
std::string mlcpBinary();  // <build>/mlcp
// mpiexec with the flags every test uses (root, oversubscription, no binding), then `-n ranks`.
std::string mpiexec(int ranks);
std::string readFile(const std::string& path);
void writeFile(const std::string& path, const std::string& text);
// The lines of `text` without their '\n' (a last line without one counts too).
std::vector<std::string> splitLines(const std::string& text);
// Single-quotes `s` for /bin/sh.
std::string shellQuote(const std::string& s);

}  // namespace mlcp::test
