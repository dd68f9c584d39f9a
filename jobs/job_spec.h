// The job specification: one TOML file that defines a training job's logical program (model,
// data, optimizer, schedule, batch split, parallel plan, seed) and its physical knobs (output
// directory, timeouts, devices, chain bridge, Slurm, volunteers). docs/job-spec.md documents
// every key.
//
// Contract: loadJobSpec/parseJobSpec either return a JobSpec that passed every check that can
// be made before work starts (types, ranges, enums, cross-field rules, data files present, key
// files present, the volunteers' allow file read), or throw mlcp::UsageError with one sentence
//
//   <file>:<line>:<col>: <key path>: <what was expected>, got <what was found>
//
// Paths in a returned JobSpec are absolute: relative paths in the file resolve against the job
// file's directory; the default output_dir is <current directory>/runs/<name>.
// No LibTorch, no MPI: every process (and every tool) can read a job cheaply.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jobs/model_options.h"

namespace mlcp::jobs {

// One layer of a model described in the job file ([[model.stack]], model.kind "stack").
struct StackLayerSpec {
  std::string type;   // "conv": 3x3 conv (pad 1) + ReLU + 2x2 maxpool; "dense": Linear (+ ReLU)
  int64_t width = 0;  // conv: output channels (key `channels`); dense: output width (`width`)
  bool relu = true;   // dense: activation "relu" (true) or "none"
};

struct ModelSpec {
  // "mlp" | "cnn" | "gpt" | "stack", or a kind the running program registered
  // (models/model_registry.h; isBuiltInModelKind says which).
  std::string kind;
  std::vector<int64_t> hidden{256, 128};  // mlp: hidden widths (each Linear + ReLU)
  std::vector<int64_t> channels{16, 32};  // cnn: per entry 3x3 conv (pad 1) + ReLU + 2x2 maxpool;
                                          // then a Linear head
  // gpt (byte-level: the vocabulary is the 256 byte values, fixed)
  int64_t d_model = 128, layers = 4, heads = 4, context = 64, ffn_mult = 4;
  double dropout = 0.0;
  // stack: the layers in order (conv layers first, on the 28x28 images); a Linear head to the
  // classes follows the last.
  std::vector<StackLayerSpec> stack;
  // A registered kind: its [model.options] table (empty for the built-in kinds).
  ModelOptions options;
};

// mlp, cnn, gpt and stack are built in; any other kind is one the running program registered.
bool isBuiltInModelKind(const std::string& kind);

// tokens: one directory `mlcp data prepare` wrote (docs/data-format.md) and its share of the
// training windows in a mixture.
struct DataSource {
  std::string path;     // absolute
  double weight = 1.0;  // > 0, relative to the other sources' weights
};

struct DataSpec {
  std::string kind;  // "fashion-mnist" | "text" | "tokens"
  // fashion-mnist: directory with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
  //   (default /usr/share/datasets/fashion-mnist, Debian dataset-fashion-mnist).
  // text: a text file, or a directory of them (hidden files, *.dat, *.u8 and symlinks skipped).
  // tokens: a prepared token directory; with `sources` (a mixture), the first source's.
  std::string path;
  // tokens: the prepared directories in file order, one entry when the file names `path`.
  std::vector<DataSource> sources;
  // tokens: "" or the vocabulary id (64 hex digits) the job pins: every source must have it.
  std::string vocabulary;
  // text, tokens: the last fraction of the bytes (of each source's tokens) is the eval split.
  double holdout_fraction = 0.05;
  int64_t train_limit = 0;  // 0 = all training samples; >0 = the first N
  int64_t eval_limit = 0;   // 0 = all evaluation samples; >0 = the first N
};

struct OptimizerSpec {
  std::string kind = "adamw";  // adamw | sgd
  double lr = 1e-3, weight_decay = 0.0, momentum = 0.9, beta1 = 0.9, beta2 = 0.999, eps = 1e-8,
         grad_clip = 0.0;  // grad_clip 0 = off (else max global L2 norm)
};

struct LrScheduleSpec {
  std::string kind = "constant";  // constant | cosine | linear
  int64_t warmup_steps = 0;       // linear warm-up from 0 over this many steps
  double min_lr_ratio = 0.1;      // cosine/linear: final lr = lr * min_lr_ratio
};

struct TrainSpec {
  int64_t global_batch = 0;   // samples per optimizer step (required)
  int64_t micro_batches = 1;  // logical micro-batches per step; divides global_batch
  int64_t steps = 0;          // exactly one of steps / epochs is > 0
  int64_t epochs = 0;
  int64_t eval_every = 0;  // steps between evaluations; 0 = only at the end
  int64_t log_every = 10;  // steps between progress lines; > 0
};

struct ParallelSpec {
  int64_t dp = 0;  // 0 = world / (pp * tp)
  int64_t pp = 1, tp = 1;
  std::string schedule = "1f1b";  // gpipe | 1f1b | interleaved
  int64_t virtual_stages = 1;     // model chunks per pipeline rank (interleaved only)
  // ZeRO stage 1: each data-parallel replica keeps the optimizer state of its share of the
  // parameters only (runtime/model_state.h). Placement only: the bits do not change.
  bool shard_optimizer = false;
};

struct CheckpointSpec {
  int64_t every = 0;     // steps between checkpoints; 0 = only at the end
  std::string key_file;  // ed25519 signing key for manifests ("" = unsigned)
  int64_t keep = 0;      // checkpoints kept on disk; 0 = all
};

struct RuntimeSpec {
  // The operator set (models/operators.h): "reproducible" (the same bits on every CPU) or
  // "native" (LibTorch's kernels: the same bits only on the same CPU kernels and thread count).
  std::string ops = "reproducible";
  int64_t intra_op_threads = 1;
  // Activation recomputation: keep only each layer's input during the forward and recompute the
  // layer in the backward (runtime/recompute.h). Memory only: the bits do not change.
  bool recompute = false;
  double collective_timeout_s = 300;
  std::string devices_file;  // "" = none
};

struct BridgeSpec {
  bool enabled = false;
  std::string rpc_url, outbox, contract, key_file;
  int64_t job_id = -1;
  int64_t chain_id = 0;  // 0 = ask the node; required offline (outbox without rpc_url)
};

struct SlurmSpec {
  std::string partition, account, time = "00:30:00";
  int64_t nodes = 1, tasks_per_node = 0, gpus_per_node = 0;
  bool requeue = true;
};

// [volunteers]: untrusted volunteer nodes (`mlcp volunteer`) that compute logical micro-batches
// of this job over an authenticated, encrypted UCX channel (docs/volunteers.md).
struct VolunteersSpec {
  bool enabled = false;
  // HOST:PORT the coordinator (rank 0) listens on; port 0 picks a free port.
  std::string listen = "0.0.0.0:0";
  // Allowed volunteer public keys: 64 hex digits each (ed25519), lower-cased on read.
  std::vector<std::string> allow;
  // "" or a file of keys, one per line, '#' starts a comment; path relative to the job file's
  // directory, stored absolute.
  std::string allow_file;
  // The keys the coordinator admits: `allow`, then the keys of `allow_file` (read when the job
  // loads), lower-cased, each once, in that order. Admit volunteers by this, not by `allow`.
  std::vector<std::string> allowed_keys;
  // The job's ed25519 node key for the handshake; "" = checkpoint.key_file, else the node key
  // (verify/node_key.h defaultKeyPath, created once); relative to the job file, stored absolute.
  std::string key_file;
  double deadline_s = 30;       // time a volunteer has for one work unit (> 0, <= 86400)
  int64_t max_volunteers = 16;  // volunteers connected at once (1..1024)
  // The share of a trusted volunteer's units recomputed on a rank, in (0, 1].
  double audit_rate = 0.05;
  // A new key's first units are all recomputed; after this many correct ones it is audited at
  // audit_rate (>= 0).
  int64_t audit_trust_after = 8;
  // Units each connected volunteer gets per step at least (while rank 0 has that many), the rest
  // shared by measured speed; 0 = by speed alone (a volunteer much slower than rank 0 then gets
  // none) (>= 0).
  int64_t min_units = 0;
};

struct JobSpec {
  std::string name;
  uint64_t seed = 0;
  std::string output_dir;
  ModelSpec model;
  DataSpec data;
  OptimizerSpec optimizer;
  LrScheduleSpec lr_schedule;
  TrainSpec train;
  ParallelSpec parallel;
  CheckpointSpec checkpoint;
  RuntimeSpec runtime;
  BridgeSpec bridge;
  SlurmSpec slurm;
  VolunteersSpec volunteers;

  std::string source_path;  // the path (or name) the spec was read from, as given
  std::string source_text;  // exactly the bytes of the file

  // A canonical rendering of the LOGICAL program, for hashing and recording: one
  // "key = value" line per field that applies to this job (keys of other model/optimizer/data
  // kinds are left out), with its effective value (defaults filled in), sorted by key, after a
  // version line. Stable across releases unless the version line changes.
  // Included: job.seed, model.*, data.{kind,holdout_fraction,train_limit,eval_limit},
  //   data.{weights,vocabulary} (tokens: the mixture's weights in source order, the pinned
  //   vocabulary; the sources' paths are placement, their content is the data's content hash),
  //   optimizer.*, lr_schedule.*, train.{global_batch,micro_batches,steps,epochs,eval_every},
  //   parallel.{pp,tp,schedule,virtual_stages}, checkpoint.every, runtime.intra_op_threads.
  // Excluded (placement or labels, not results): job.name, job.output_dir, data.path,
  //   train.log_every, parallel.dp, checkpoint.{key_file,keep},
  //   runtime.{collective_timeout_s,devices_file}, bridge.*, slurm.*, volunteers.* (who computes
  //   a micro-batch is placement: a job run with or without volunteers is the same program and
  //   gives the same bits).
  // docs/job-spec.md gives the reason for each.
  std::string canonicalText() const;
};

// Reads, parses and validates a job file. Throws UsageError (see the contract above).
JobSpec loadJobSpec(const std::string& path);
// Parses and validates `text` as if read from `source_name` (used in messages, and its
// directory is the base for relative paths).
JobSpec parseJobSpec(const std::string& text, const std::string& source_name);

// Throws UsageError unless `world_size` ranks can run the job: world == dp*pp*tp when
// parallel.dp > 0, or world divisible by pp*tp when dp = 0.
void checkWorldSize(const JobSpec& spec, int world_size);
// The data-parallel degree on `world_size` ranks (checkWorldSize first).
int64_t resolvedDp(const JobSpec& spec, int world_size);

// The number of pipeline-cuttable layers of the model: mlp len(hidden)+1, cnn
// len(channels)+1, gpt layers+2 (embedding, blocks, head), stack len(stack)+1; 0 for a
// registered kind (known once the model is built: models/model_registry.h).
int64_t modelLayerCount(const ModelSpec& model);

}  // namespace mlcp::jobs
