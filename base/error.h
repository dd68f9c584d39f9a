// mlcp's exception hierarchy. Every error thrown at the C++ API derives from mlcp::Error and
// carries one sentence that names what was wrong and where; errors from a foreign library carry
// that library's own message (MPI_Error_string, the HDF5 error stack, curl, JSON-RPC bodies).
//
//   Error
//   ├── UsageError         a user's mistake: bad job file, wrong path, bad key (exit code 2)
//   ├── InvalidArgument    a programming error at an API boundary
//   ├── CommError          a collective or transport failed
//   │   └── TimeoutError   a collective did not complete within its deadline
//   ├── IoError            a file could not be read or written
//   ├── VerificationError  a hash, root or signature did not match
//   └── ChainError         the chain node or a contract refused a request
#pragma once

#include <stdexcept>
#include <string>

namespace mlcp {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class UsageError : public Error {
 public:
  using Error::Error;
};

class InvalidArgument : public Error {
 public:
  using Error::Error;
};

class CommError : public Error {
 public:
  using Error::Error;
};

class TimeoutError : public CommError {
 public:
  using CommError::CommError;
};

class IoError : public Error {
 public:
  using Error::Error;
};

class VerificationError : public Error {
 public:
  using Error::Error;
};

class ChainError : public Error {
 public:
  using Error::Error;
};

// Exit codes of the `mlcp` binary: 0 success, 1 runtime failure, 2 user error.
// Not an error: the job stopped on SIGTERM/SIGUSR1 after writing a checkpoint (kExitStopped).
// The message was already printed by rank 0; `mlcp` exits quietly with kExitStopped.
class Stopped : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
// Stopped on SIGTERM/SIGUSR1 after writing a checkpoint; `mlcp run --resume` continues.
constexpr int kExitStopped = 3;

// The exit code for an exception that reached the top level.
int exitCodeFor(const std::exception& e) noexcept;

// Throws InvalidArgument with `what` when `cond` is false (API preconditions).
inline void require(bool cond, const std::string& what) {
  if (!cond) throw InvalidArgument(what);
}

}  // namespace mlcp
