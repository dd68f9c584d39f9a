// HDF5 checkpoints in the logical (unsharded) layout, committed atomically, loaded verified.
//
// Layout (docs/checkpoint-format.md):
//   RUN_DIR/checkpoints/step-00000100/shard-00000.h5   one file per writer ("shard")
//                                     shard-00001.h5
//                                     manifest.json      signed; written last
//   RUN_DIR/checkpoints/.tmp-step-00000200/             a checkpoint being written (ignored)
// A shard file holds whole logical tensors, one contiguous dataset each at "/" + name (a '/'
// in a name makes HDF5 groups), with string attributes name, dtype and hash. Which writer owns
// which tensor does not change any hash or the root, only the "file" fields of the manifest.
//
// Atomic commit protocol (MPI-free: the caller synchronises the writers):
//   0. The committing rank calls beginCheckpoint(run_dir, step): it removes what crashed
//      writes left (.tmp-step-*, .old-step-*) and creates RUN_DIR/checkpoints/.tmp-step-N/.
//      The caller then synchronises (barrier), so no writer starts before the folder exists.
//   1. Every writer calls writeShard(tmp_dir, shard_index, tensors): it writes its shard file,
//      hashing the tensors on a second thread while HDF5 writes, closes it and fsyncs it, and
//      returns the manifest entries of its tensors.
//   2. The caller synchronises (barrier) and gathers every writer's entries on the committing
//      rank (encodeEntries/decodeEntries in verify/manifest.h carry them as text).
//   3. The committing rank calls commitCheckpoint(...): it checks the entries (unique names,
//      files present), computes the Merkle root, signs the manifest, writes manifest.json into
//      the temporary folder and fsyncs it, fsyncs the temporary folder, renames it to step-N
//      (an existing step-N is first renamed to .old-step-N and removed after), and fsyncs
//      RUN_DIR/checkpoints.
// A crash before the rename in step 3 leaves only a .tmp folder, which readers ignore and the
// next beginCheckpoint removes; after it, the checkpoint is complete and durable. Every earlier
// checkpoint stays valid throughout.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "verify/hash.h"
#include "verify/manifest.h"
#include "verify/node_key.h"

namespace mlcp::verify {

// "step-00000100" (at least 8 digits).
std::string checkpointDirName(int64_t step);
// RUN_DIR/checkpoints
std::string checkpointsRoot(const std::string& run_dir);
// RUN_DIR/checkpoints/step-00000100
std::string checkpointDir(const std::string& run_dir, int64_t step);
// RUN_DIR/checkpoints/.tmp-step-00000100
std::string tmpCheckpointDir(const std::string& run_dir, int64_t step);
// "shard-00003.h5"
std::string shardFileName(int shard_index);
// The HDF5 dataset path of a tensor: "/" + name.
std::string datasetPathFor(const std::string& name);
// Throws InvalidArgument unless `name` is non-empty, has no empty, "." or ".." component
// between '/', no leading or trailing '/', and no NUL byte.
void checkTensorName(const std::string& name);

// Views for the small non-tensor state, so it is stored and hashed like any tensor:
// an int64 vector of `count` values (count == 1 with scalar == true gives a rank-0 tensor),
// and a uint8 vector of raw bytes (RNG states, serialised positions).
TensorView int64Tensor(std::string name, const int64_t* values, size_t count, bool scalar = false);
TensorView bytesTensor(std::string name, const void* data, size_t bytes);

// Step 0 of the protocol (committing rank only). Returns tmpCheckpointDir(run_dir, step).
std::string beginCheckpoint(const std::string& run_dir, int64_t step);

// Step 1: writes `tensors` into TMP_DIR/shard-<shard_index>.h5 (replacing a file of that name),
// fsyncs it and returns one entry per tensor, in the order given. The views must stay valid
// for the call. Throws InvalidArgument for a bad view or name, IoError with HDF5's message
// when the file cannot be written.
std::vector<TensorEntry> writeShard(const std::string& tmp_dir, int shard_index,
                                    const std::vector<TensorView>& tensors);

struct CommitResult {
  std::string dir;  // RUN_DIR/checkpoints/step-N
  CheckpointManifest manifest;
};

// Step 3 (committing rank only): `entries` from every shard, in any order.
// The manifest's other fields about the program (version 2).
// What a manifest records about the program beyond the job text: where the job was read from
// (informational), the content hash of its data, and the operator set with its version
// (models::opSetVersion).
struct ProgramInfo {
  std::string job_path;
  std::string data_hash;
  std::string ops;
};
CommitResult commitCheckpoint(const std::string& run_dir, int64_t step,
                              std::vector<TensorEntry> entries, const std::string& job_spec_text,
                              const std::string& plan_text, const KeyPair& key,
                              const ProgramInfo& program = {});

struct ReaderOptions {
  // When set (64 hex digits), a manifest signed by any other key is refused.
  std::optional<std::string> expected_signer;
};

struct LoadedTensor {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // row-major, little-endian

  TensorView view() const { return TensorView{name, dtype, shape, bytes.data(), bytes.size()}; }
};

// A committed checkpoint, opened for verified reading. open() verifies the manifest's
// signature, that the root is the Merkle root of its entries and that the step matches the
// folder name; every read recomputes the tensor's hash and refuses a mismatch with a
// VerificationError naming the tensor and its file. Not thread-safe (one reader per thread).
class CheckpointReader {
 public:
  // Throws VerificationError when the checkpoint is missing its manifest, or the manifest is
  // malformed, unsigned, signed by another key than expected, or inconsistent with its root.
  static CheckpointReader open(const std::string& checkpoint_dir,
                               const ReaderOptions& options = {});

  CheckpointReader(CheckpointReader&&) noexcept;
  CheckpointReader& operator=(CheckpointReader&&) noexcept;
  ~CheckpointReader();

  const std::string& dir() const { return dir_; }
  const CheckpointManifest& manifest() const { return manifest_; }
  int64_t step() const { return manifest_.step; }
  const Hash256& root() const { return manifest_.root; }
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const;
  // Throws InvalidArgument when the checkpoint has no tensor `name`.
  const TensorEntry& entry(const std::string& name) const;

  // Reads a tensor and checks its dtype, shape and hash against the manifest.
  LoadedTensor read(const std::string& name) const;
  // The same into caller memory of exactly the tensor's size (e.g. a torch tensor's storage).
  // On a VerificationError `dst` holds the unverified bytes.
  void readInto(const std::string& name, void* dst, size_t bytes) const;
  // Many tensors into caller memory: reads them in order on this thread while other threads
  // hash what was read (one per core). Throws the first mismatch (in request order) after every
  // read has finished.
  struct ReadRequest {
    std::string name;
    void* dst = nullptr;
    size_t bytes = 0;
  };
  void readAllInto(const std::vector<ReadRequest>& requests) const;
  // Reads and checks every tensor, hashing on other threads while reading the next.
  void verifyAll() const;

 private:
  struct Files;
  CheckpointReader() = default;
  // Reads the raw dataset of `e` into dst after checking its type and shape.
  void readRaw(const TensorEntry& e, void* dst, size_t bytes) const;
  void checkHash(const TensorEntry& e, const void* data, size_t bytes) const;

  std::string dir_;
  CheckpointManifest manifest_;
  std::map<std::string, size_t> index_;  // name -> position in manifest_.tensors
  std::unique_ptr<Files> files_;         // open shard files, opened on first use
};

struct CheckpointInfo {
  int64_t step = 0;
  std::string dir;
};

// Committed-looking checkpoint folders (step-N, N digits) under RUN_DIR/checkpoints, by step.
// Temporary folders are never listed. An absent folder gives an empty list.
std::vector<CheckpointInfo> listCheckpoints(const std::string& run_dir);

struct LatestCheckpoint {
  std::optional<CheckpointInfo> checkpoint;  // empty when no valid checkpoint exists
  std::optional<Hash256> root;
  std::vector<std::string> notes;  // one line per skipped or ignored folder, and why
};

// The newest checkpoint that opens and (with verify_data) whose every tensor hash checks out.
// Newer invalid ones and uncommitted .tmp folders are skipped with a note each.
LatestCheckpoint latestValidCheckpoint(const std::string& run_dir,
                                       const ReaderOptions& options = {}, bool verify_data = true);

}  // namespace mlcp::verify
