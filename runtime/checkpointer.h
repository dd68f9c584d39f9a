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
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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
  Checkpointer(std::string run_dir, collectives::Communicator& comm, verify::KeyPair key,
               std::string job_text, std::string job_path, std::string plan_text,
               collectives::CollectiveOptions opts);

  // Saves this rank's share `mine` of the state (see step 2); returns the committed
  // checkpoint's root (on every rank). Collective over the communicator.
  verify::Hash256 save(int64_t step, const std::vector<NamedTensor>& mine);

  const std::string& runDir() const { return run_dir_; }

 private:
  std::string run_dir_;
  collectives::Communicator& comm_;
  verify::KeyPair key_;
  std::string job_text_, job_path_, plan_text_;
  collectives::CollectiveOptions opts_;
};

// The checkpoint element type of a CPU tensor; throws InvalidArgument for other types.
verify::DType dtypeOf(const torch::Tensor& t);

// Reads a verified checkpoint's tensor as a torch tensor (float32 or int64), or an undefined
// tensor when the checkpoint has no such name.
torch::Tensor readCheckpointTensor(const verify::CheckpointReader& reader, const std::string& name);

// The signing key for a run: the job's checkpoint.key_file, else the node's default key
// (verify::defaultKeyPath()), created on first use with mode 0600.
verify::KeyPair loadOrCreateNodeKey(const std::string& key_file, bool announce);

// Gathers a string from every rank of `comm` onto every rank, in rank order.
std::vector<std::string> allgatherStrings(collectives::Communicator& comm, const std::string& mine,
                                          const collectives::CollectiveOptions& opts);

}  // namespace mlcp::runtime
