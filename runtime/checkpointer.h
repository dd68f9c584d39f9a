// Writes and loads a job's training state as verified HDF5 checkpoints (verify/checkpoint.h),
// in parallel from every rank of a communicator.
//
// Save, as numbered steps (every rank of `comm`):
//  1. Rank 0 prepares RUN_DIR/checkpoints/.tmp-step-N (removing leftovers of crashed writes);
//     barrier.
//  2. Every rank writes and fsyncs its own shard file in parallel, holding the tensors the
//     caller hands it: each tensor of the job is handed to exactly one rank (the trainer gives
//     tensor i of a stage's state to data-parallel replica i mod dp of that stage). The shard
//     split never changes a hash or the root.
//  3. Every rank's manifest entries are gathered on rank 0, which signs the manifest with the
//     node key, writes it, and renames the folder into place (atomic); barrier.
// A crash anywhere before the rename leaves the previous checkpoint as the latest valid one.
//
// Asynchronous form (what the trainer uses, so that training does not wait for the disk). The
// checkpoint in flight moves through two background phases, and the ranks move it on together:
//  a. begin() (collective: step 1) hands this rank's tensors to a background thread, which
//     copies them (the snapshot), then writes, hashes and fsyncs the shard (step 2). The caller
//     must call waitForSnapshot() before it next changes any of those tensors.
//  b. advance(), once every rank is localReady(): gathers the shard entries; rank 0 signs and
//     writes the manifest and renames the folder into place on a background thread (step 3).
//  c. advance(), once rank 0's commit is done: every rank learns the root. Committed.
// The ranks agree that all are localReady() by a collective of the caller's (the trainer adds a
// flag to each step's loss allreduce), so no rank ever waits for the disk. finish() does b and c
// at once, waiting where it must. Until c, the checkpoint is not committed: a crash in between
// leaves the previous one as the latest valid checkpoint, exactly as a crash inside save() would.
//
// The training loop's form (what the trainer calls, one line each): start(step, mine) commits
// the checkpoint in flight, if any, then begins `step`; poll(all_ready) moves it on when every
// rank's part is done; commit() finishes it. Each committed checkpoint is first published —
// rank 0 runs the publisher (the bridge's commitment), every rank learns whether it failed — and
// then announced to the committed-listener on every rank.
// Both phases run on one BackgroundWorker thread, which uses no communicator (MPI is only called
// from the caller's thread); HDF5 is built thread-safe (H5_HAVE_THREADSAFE), so nothing else has
// to stop for it.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "base/background_worker.h"
#include "collectives/communicator.h"
#include "runtime/training_state.h"
#include "verify/checkpoint.h"
#include "verify/node_key.h"

namespace mlcp::runtime {

class Checkpointer {
 public:
  // `key` is used by rank 0 only (other ranks may pass any key). `job_text` is the job file's
  // text, stored in every manifest so a checkpoint can be replayed on its own.
  // `plan_text` describes the placement (the manifest's plan field, informational).
  // `keep` > 0: after each commit rank 0 deletes the oldest committed checkpoints of the run
  // beyond the newest `keep` (the job's checkpoint.keep); 0 keeps all. `program` (the job's
  // path, its data's content hash, its operator set) is recorded in every manifest.
  Checkpointer(std::string run_dir, collectives::Communicator& comm, verify::KeyPair key,
               std::string job_text, verify::ProgramInfo program, std::string plan_text,
               collectives::CollectiveOptions opts, int64_t keep = 0);

  ~Checkpointer();  // waits for a shard or commit still running; never commits one
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Saves this rank's share `mine` of the state (see step 2); returns the committed
  // checkpoint's root (on every rank). Collective over the communicator.
  verify::Hash256 save(int64_t step, const std::vector<NamedTensor>& mine);

  // a. Starts checkpoint `step` (collective). The tensors of `mine` are read by a background
  // thread until waitForSnapshot() returns. No checkpoint may be in flight.
  void begin(int64_t step, std::vector<NamedTensor> mine);
  // Blocks until the checkpoint in flight holds its own copy of the tensors given to begin().
  void waitForSnapshot();
  // Whether a checkpoint was begun and not yet committed (the same on every rank), and its step.
  bool inFlight() const { return phase_ != Phase::kIdle; }
  int64_t inFlightStep() const { return step_; }
  // Whether this rank's part of the current phase is done, so advance() would not wait here:
  // its shard is on disk (phase a), rank 0's commit is done (phase b), or nothing is in flight.
  bool localReady() const;
  // Collective: moves the checkpoint in flight one phase on (b or c above), waiting for this
  // rank's part if it is not done. Returns the root once the checkpoint is committed. When a rank
  // could not write its shard, or rank 0 could not commit, every rank throws an IoError naming
  // that rank (rank 0 throws its own error) and the checkpoint is not committed.
  std::optional<verify::Hash256> advance();
  // Collective: advances the checkpoint in flight until it is committed; returns its root.
  verify::Hash256 finish();

  // Rank 0 calls `publisher` after each commit of the training loop's form, with the step and
  // root. Set it on every rank (a no-op elsewhere): all ranks then agree whether it failed, and
  // its exception — after the checkpoint is safely on disk — fails the run on every rank and
  // reaches the caller on rank 0.
  void setPublisher(std::function<void(int64_t step, const verify::Hash256& root)> publisher);
  // Every rank, after each commit and publication.
  void setOnCommitted(std::function<void(int64_t step, const verify::Hash256& root)> listener);
  // Collective: commits the checkpoint in flight (if any), then begins checkpoint `step`.
  void start(int64_t step, std::vector<NamedTensor> mine);
  // Collective: when `all_ready` (every rank's localReady(), agreed by the caller), moves the
  // checkpoint in flight one phase on.
  void poll(bool all_ready);
  // Collective: commits the checkpoint in flight, if any.
  void commit();
  // The step of the last checkpoint committed through the loop's form (-1: none).
  int64_t lastCommitted() const { return last_committed_; }

  const std::string& runDir() const { return run_dir_; }

 private:
  void pruneOldCheckpoints() const;                           // rank 0, after a commit
  void committed(int64_t step, const verify::Hash256& root);  // publish, then announce
  std::string run_dir_;
  collectives::Communicator& comm_;
  verify::KeyPair key_;
  std::string job_text_, plan_text_;
  verify::ProgramInfo program_;
  collectives::CollectiveOptions opts_;
  int64_t keep_ = 0;
  enum class Phase { kIdle, kWriting, kCommitting };
  Phase phase_ = Phase::kIdle;
  int64_t step_ = -1;
  int64_t last_committed_ = -1;
  std::function<void(int64_t, const verify::Hash256&)> publisher_, on_committed_;
  bool prepared_ = false;  // leftovers of crashed runs removed (first begin)
  std::shared_future<void> snapshot_;
  std::future<std::string> shard_;   // phase a: this rank's entries (verify::encodeEntries)
  std::future<std::string> commit_;  // phase b, rank 0: the root, in hex
  BackgroundWorker worker_;          // runs both phases; last, so it joins before the rest goes
};

// The checkpoint element type of a CPU tensor; throws InvalidArgument for other types.
verify::DType dtypeOf(const torch::Tensor& t);

// Reads a verified checkpoint's tensor as a torch tensor (float32 or int64), or an undefined
// tensor when the checkpoint has no such name.
torch::Tensor readCheckpointTensor(const verify::CheckpointReader& reader, const std::string& name);

// The signing key for a run: the job's checkpoint.key_file, else the node's default key
// (verify::defaultKeyPath()), created on first use with mode 0600.
verify::KeyPair loadOrCreateNodeKey(const std::string& key_file, bool announce);

}  // namespace mlcp::runtime
