#include <fmt/format.h>
#include <fmt/ranges.h>
#include <hdf5.h>
#include <torch/torch.h>
#include <ucp/api/ucp.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "app/commands.h"
#include "app/job_binding.h"
#include "base/error.h"
#include "base/process_env.h"
#include "bridge/eth_key.h"
#include "collectives/mpi/mpi_communicator.h"
#include "collectives/mpi/mpi_runtime.h"
#include "data/dataset.h"
#include "jobs/job_spec.h"
#include "mlcp/config.h"
#include "models/model_registry.h"
#include "runtime/placement.h"
#include "runtime/stop_signal.h"
#include "runtime/trainer.h"
#include "verify/checkpoint.h"
#include "verify/node_key.h"

namespace mlcp::app {
namespace {

// Loads and validates the job before any rank starts work. Returns the error message of a
// user's mistake (empty when the job is valid).
std::string loadJob(const std::string& path, const LaunchEnv& env, jobs::JobSpec* spec) {
  try {
    *spec = jobs::loadJobSpec(path);
    jobs::checkWorldSize(*spec, env.size);
    return "";
  } catch (const UsageError& e) {
    return e.what();
  }
}

// Every rank reads the job file (a path may be missing on one host only); the ranks then agree
// on a verdict. A rejected job is reported once — by rank 0 if it saw the error, else by the
// lowest rank that did — and every rank exits with code 2 only after the report is written:
// exiting before it would let mpirun kill rank 0 with its message still unwritten.
void exitIfRejected(const std::string& error, collectives::MpiCommunicator& world,
                    int exit_code = kExitUsage) {
  int32_t first_failed = error.empty() ? world.size() : world.rank();
  world.allreduce(&first_failed, 1, collectives::DataType::kInt32, collectives::ReduceOp::kMin);
  if (first_failed == world.size()) return;
  if (world.rank() == first_failed) {
    if (first_failed == 0)
      std::fprintf(stderr, "mlcp: error: %s\n", error.c_str());
    else
      std::fprintf(stderr, "mlcp: error on rank %d: %s\n", first_failed, error.c_str());
  }
  std::fflush(stderr);
  world.barrier();
  MPI_Finalize();
  std::_Exit(exit_code);
}

// The shared library that provides BLAS to LibTorch in this process (OpenBLAS or the slow
// reference BLAS), read from the process's memory map.
std::string loadedBlas() {
  std::ifstream maps("/proc/self/maps");
  std::string line, found = "unknown";
  while (std::getline(maps, line)) {
    const auto pos = line.find('/');
    if (pos == std::string::npos) continue;
    const std::string lib = line.substr(pos);
    if (lib.find("openblas") != std::string::npos) return lib;
    if (lib.find("libblas.so") != std::string::npos || lib.find("libmkl") != std::string::npos) {
      found = lib;
    }
  }
  return found;
}

// "STEP:LAYER:RANK" -> PlantedFault ("" -> inactive).
runtime::PlantedFault parseFault(const std::string& text) {
  runtime::PlantedFault f;
  if (text.empty()) return f;
  long long step = 0, layer = 0;
  int rank = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%lld:%lld:%d%c", &step, &layer, &rank, &tail) != 3 || step < 1) {
    throw UsageError(
        fmt::format("--fault {}: expected STEP:LAYER:RANK, e.g. 6:1:0 (step >= 1)", text));
  }
  f.step = step;
  f.layer = layer;
  f.rank = rank;
  return f;
}

// The public key a resumed run's checkpoint must be signed by: `trusted` when given, else the
// key this run signs with (rank 0's). Every rank gets rank 0's answer.
std::string resumeSigner(const jobs::JobSpec& spec, const std::string& trusted,
                         collectives::MpiCommunicator& world) {
  std::string hex(64, '\0');
  std::string error;
  if (world.rank() == 0) {
    try {
      if (!trusted.empty()) {
        verify::arrayFromHex<32>(trusted, "--trust-signer");
        hex = trusted;
      } else {
        const std::string path =
            spec.checkpoint.key_file.empty() ? verify::defaultKeyPath() : spec.checkpoint.key_file;
        if (!std::filesystem::exists(path)) {
          throw UsageError(fmt::format(
              "cannot resume: this run's signing key {} does not exist, so no checkpoint can be "
              "this run's own; pass --trust-signer KEY to continue from checkpoints signed by KEY",
              path));
        }
        hex = verify::KeyPair::load(path).publicKeyHex();
      }
    } catch (const std::exception& e) {
      error = e.what();
      hex.assign(64, '\0');
    }
  }
  world.broadcast(hex.data(), 64, collectives::DataType::kUInt8, 0);
  if (hex[0] == '\0') {
    if (world.rank() == 0) throw UsageError(error);
    throw UsageError("rank 0 could not determine the resume signer (its error is above)");
  }
  return hex;
}

// The flags of `mlcp run` beyond the job file.
struct RunFlags {
  std::string output;
  int64_t max_steps = -1;
  bool no_progress = false;
  std::string progress = "auto";
  bool resume = false;
  std::string trust_signer;
  std::string fault;
  bool timeline = false;
  std::string init_from;
};

void runJob(const std::string& job_path, const RunFlags& f) {
  const std::string& output = f.output;
  const bool resume = f.resume, timeline = f.timeline;
  const LaunchEnv env = detectLaunchEnv();
  jobs::JobSpec spec;
  const std::string job_error = loadJob(job_path, env, &spec);

  collectives::MpiRuntime mpi;
  collectives::MpiCommunicator world(MPI_COMM_WORLD);
  exitIfRejected(job_error, world);
  world.setDefaultTimeout(
      std::chrono::milliseconds(static_cast<int64_t>(spec.runtime.collective_timeout_s * 1000.0)));
  const int rank = world.rank();
  if (rank == 0) {
    fmt::print("mlcp {} | job {} ({}) | {} ranks via {} | MPI point-to-point: {} | seed {}\n",
               MLCP_VERSION, spec.name, job_path, world.size(), env.launcher, mpi.pmlName(),
               spec.seed);
    std::fflush(stdout);
  }
  bool stopped = false;
  try {
    runtime::TrainerOptions opts;
    opts.output_dir = output;
    opts.max_steps = f.max_steps;
    opts.show_progress = !f.no_progress;
    opts.progress_style = f.progress == "live"    ? runtime::ProgressStyle::kLive
                          : f.progress == "lines" ? runtime::ProgressStyle::kLines
                                                  : runtime::ProgressStyle::kAuto;
    opts.fault = parseFault(f.fault);
    opts.take_volunteers = true;
    opts.init_from = f.init_from;
    partition::TraceRecorder recorder(rank);
    if (timeline) opts.timeline = &recorder;
    // Written however the run ends (finished, stopped on a signal, failed), for a post-mortem.
    struct TimelineWriter {
      partition::TraceRecorder* t;
      std::string path;
      ~TimelineWriter() {
        if (t == nullptr) return;
        try {
          std::filesystem::create_directories(std::filesystem::path(path).parent_path());
          t->write(path);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "mlcp: could not write the timeline %s: %s\n", path.c_str(),
                       e.what());
        }
      }
    } timeline_writer{timeline ? &recorder : nullptr,
                      fmt::format("{}/timeline/rank-{:05d}.json",
                                  output.empty() ? spec.output_dir : output, rank)};
    if (resume) {
      const std::string dir = output.empty() ? spec.output_dir : output;
      verify::ReaderOptions read;
      read.expected_signer = resumeSigner(spec, f.trust_signer, world);
      const auto latest = verify::latestValidCheckpoint(dir, read);
      if (rank == 0) {
        for (const auto& note : latest.notes) fmt::print("mlcp: resume: {}\n", note);
        if (!latest.checkpoint)
          fmt::print("mlcp: resume: no valid checkpoint in {}, starting from the seed\n", dir);
      }
      if (latest.checkpoint) {
        opts.start_checkpoint = latest.checkpoint->dir;
        opts.start_signer = *read.expected_signer;
      }
    }
    if (!f.init_from.empty() && spec.bridge.enabled) {  // every rank alike
      throw UsageError(
          "--init-from: a job published on chain starts from its seed's state (the "
          "initial root it committed); run it without [bridge] enabled");
    }
    // [bridge] (issue #17): the job on chain must be this one — spec hash, steps per checkpoint,
    // initial root — before any step is computed; rank 0 asks, every rank agrees to refuse.
    // Every rank takes part in the hook's agreement; only rank 0 publishes (trainer.h).
    if (spec.bridge.enabled) {
      std::string refusal;
      std::unique_ptr<BridgeRun> bridge_run;
      int64_t agreed[2] = {opts.max_steps, kExitUsage};  // max steps, exit code of a refusal
      if (rank == 0) {
        try {
          bridge_run = std::make_unique<BridgeRun>(spec);
          refusal = bridge_run->check(opts.start_checkpoint, &opts.max_steps);
        } catch (const Error& e) {  // a user's mistake (2), or the chain node failed (1)
          refusal = e.what();
          agreed[1] = exitCodeFor(e);
        }
        agreed[0] = opts.max_steps;
      }
      world.broadcast(agreed, 2, collectives::DataType::kInt64, 0);
      opts.max_steps = agreed[0];
      exitIfRejected(refusal, world, static_cast<int>(agreed[1]));
      opts.on_checkpoint = rank == 0 ? bridge_run->hook() : [](int64_t, const verify::Hash256&) {};
    }
    runtime::checkMemoryFits(spec, world.size(), env.local_size);
    runtime::TrainResult r;
    try {
      runtime::Trainer trainer(spec, world, opts);
      r = trainer.run();
    } catch (const c10::Error& e) {
      // LibTorch's message without its C++ backtrace (an allocation that failed says how much).
      throw Error(std::string("LibTorch: ") + e.what_without_backtrace());
    } catch (const std::bad_alloc&) {
      throw Error(
          "out of memory while building or training the model (std::bad_alloc); "
          "`mlcp validate` estimates what a job needs");
    }
    if (r.stopped_at_step >= 0) {
      stopped = true;
    } else if (rank == 0) {
      fmt::print("summary: {} steps, {} samples in {:.1f} s ({:.1f} samples/s) on {} ranks\n",
                 r.steps, r.samples, r.wall_seconds, r.samples_per_second, world.size());
      fmt::print(
          "summary: final train loss {:.4f} | held-out loss {:.4f} | held-out accuracy "
          "{:.2f}% ({} samples)\n",
          r.final_train_loss, r.final_eval.loss, 100.0 * r.final_eval.accuracy,
          r.final_eval.samples);
      if (r.unigram_entropy_nats > 0) {
        const double below = r.unigram_entropy_nats - r.final_eval.loss;
        fmt::print(
            "summary: unigram entropy of the training {} {:.4f} nats; the held-out loss is "
            "{:.4f} nats {} it\n",
            spec.data.kind == "tokens" ? "tokens" : "bytes", r.unigram_entropy_nats,
            std::abs(below), below >= 0 ? "below" : "above");
      }
      if (r.skipped_steps > 0)
        fmt::print("summary: {} steps skipped (non-finite gradient)\n", r.skipped_steps);
      fmt::print("summary: parameters blake2b-256 {} ({})\n", r.parameter_hash, r.state_file);
      fmt::print("summary: checkpoint root {} ({})\n", r.checkpoint_root, r.checkpoint_dir);
      fmt::print("summary: metrics in {}/metrics/, plot with: mlcp plot {}\n", r.run_dir,
                 r.run_dir);
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    // One failing rank must not leave the others waiting in a collective: end the whole job.
    if (world.size() == 1) throw;
    const bool user = dynamic_cast<const UsageError*>(&e) != nullptr;
    if (!user || rank == 0) std::fprintf(stderr, "mlcp: error on rank %d: %s\n", rank, e.what());
    std::fflush(stderr);
    collectives::abortJob(world, exitCodeFor(e), e.what());
  }
  if (stopped) throw Stopped("stopped on a signal");
}

void validateJob(const std::string& job_path, int ranks) {
  auto spec = jobs::loadJobSpec(job_path);
  const auto& par = spec.parallel;
  const int world =
      ranks > 0 ? ranks : static_cast<int>((par.dp > 0 ? par.dp : 1) * par.pp * par.tp);
  jobs::checkWorldSize(spec, world);
  // What `run` would refuse later: keys it cannot load, a job that cannot fit in memory here.
  if (!spec.checkpoint.key_file.empty()) verify::KeyPair::load(spec.checkpoint.key_file);
  if (spec.bridge.enabled) bridge::EthKey::load(spec.bridge.key_file);
  // A registered kind's parameter and layer counts are known once it is built: build it once.
  int64_t parameters = -1;
  if (!jobs::isBuiltInModelKind(spec.model.kind)) {
    models::checkModelKind(spec);
    const auto model =
        models::buildModel(spec.model, data::classCount(spec.data.kind, spec.data.path), spec.seed);
    runtime::checkPipelineFits(spec, model->numLayers());
    parameters = model->numParameters();
  }
  // One rank must fit in this machine's memory (the ranks of a run may be on other hosts).
  const auto memory = runtime::checkMemoryFits(spec, world, 1, parameters);
  fmt::print("{}: valid\n", job_path);
  fmt::print("  model {} | data {} at {} | optimizer {} lr {} | schedule {}\n", spec.model.kind,
             spec.data.kind, spec.data.path, spec.optimizer.kind, spec.optimizer.lr,
             spec.lr_schedule.kind);
  fmt::print("  global batch {} in {} micro-batches of {} | {} | seed {}\n",
             spec.train.global_batch, spec.train.micro_batches,
             spec.train.global_batch / spec.train.micro_batches,
             spec.train.steps > 0 ? fmt::format("{} steps", spec.train.steps)
                                  : fmt::format("{} epochs", spec.train.epochs),
             spec.seed);
  fmt::print("  parallel dp {} x pp {} x tp {} | intra-op threads {} | output {}\n",
             spec.parallel.dp == 0 ? std::string("auto") : std::to_string(spec.parallel.dp),
             spec.parallel.pp, spec.parallel.tp, spec.runtime.intra_op_threads, spec.output_dir);
  fmt::print("  memory about {:.3g} MiB per rank of {} ({})\n",
             static_cast<double>(memory.bytes_per_rank) / (1024.0 * 1024.0), world,
             memory.breakdown);
}

void printInfo() {
  // Before MPI_Init: a standalone MPI singleton exports PMIx variables of its own.
  const LaunchEnv env = detectLaunchEnv();
  collectives::MpiRuntime mpi;
  collectives::MpiCommunicator world(MPI_COMM_WORLD);
  // Every rank contributes one fixed-size line; rank 0 prints them in rank order.
  constexpr int64_t kLine = 256;
  std::string mine = fmt::format(
      "rank {:>3}  host {}  pid {}  local rank {}  cores {}  threads {}  gpu {}", world.rank(),
      env.hostname, getpid(), env.local_rank, sysconf(_SC_NPROCESSORS_ONLN),
      torch::get_num_threads(),
      env.gpu < 0 ? std::string("none")
                  : fmt::format("{} (of {}={})", env.visible_gpus[static_cast<size_t>(env.gpu)],
                                env.gpus_from, fmt::join(env.visible_gpus, ",")));
  mine.resize(kLine, '\0');
  std::string all(static_cast<size_t>(kLine * world.size()), '\0');
  world.allgather(mine.data(), all.data(), kLine, collectives::DataType::kUInt8);
  if (world.rank() != 0) return;
  unsigned h5_major = 0, h5_minor = 0, h5_release = 0;
  H5get_libversion(&h5_major, &h5_minor, &h5_release);
  fmt::print("mlcp {}\n", MLCP_VERSION);
  fmt::print(
      "  ranks        {} ({})\n", world.size(),
      env.launcher == "standalone" ? std::string("standalone") : "launched by " + env.launcher);
  fmt::print("  MPI          {}\n", mpi.libraryVersion());
  fmt::print("  MPI pt2pt    {} (UCX PML where it loads, ob1 otherwise)\n", mpi.pmlName());
  fmt::print("  UCX          {}\n", ucp_get_version_string());
  fmt::print("  HDF5         {}.{}.{}\n", h5_major, h5_minor, h5_release);
  fmt::print("  LibTorch     {}\n", TORCH_VERSION);
  fmt::print("  BLAS         {}\n", loadedBlas());
  fmt::print("  NCCL backend {}\n", MLCP_HAVE_NCCL ? "built" : "not built (no CUDA/NCCL found)");
  fmt::print("  devices      cpu{}\n",
             torch::cuda::is_available()
                 ? fmt::format(", {} CUDA device(s)", torch::cuda::device_count())
                 : std::string());
  std::string registered;
  for (const auto& name : models::registeredModelKinds()) {
    const auto* kind = models::findModelKind(name);
    registered += fmt::format("; {} ({})", name, kind->summary);
  }
  fmt::print("  models       mlp, cnn, gpt, stack (built in){}\n", registered);
  for (int r = 0; r < world.size(); ++r) {
    fmt::print("  {}\n", all.substr(static_cast<size_t>(r * kLine)).c_str());
  }
}

}  // namespace

void addRunCommands(CLI::App& app) {
  auto* run = app.add_subcommand("run", "Train a job (standalone, or under mpirun / srun)");
  auto job = std::make_shared<std::string>();
  auto f = std::make_shared<RunFlags>();
  run->add_option("job", *job, "Job file (TOML)")->required();
  run->add_option("--output", f->output, "Output directory (default: the job's output_dir)");
  run->add_option("--max-steps", f->max_steps, "Stop after this many steps");
  run->add_flag("--no-progress", f->no_progress, "Do not print progress lines");
  run->add_option("--progress", f->progress,
                  "auto (a live line only when started by hand on a terminal), live, or lines "
                  "(one plain line every train.log_every steps)")
      ->check(CLI::IsMember({"auto", "live", "lines"}));
  run->add_flag("--resume", f->resume,
                "Continue from the latest valid checkpoint in the output directory");
  run->add_option("--trust-signer", f->trust_signer,
                  "With --resume: continue from checkpoints signed by this public key (hex; "
                  "default: only this run's own key)");
  run->add_option("--fault", f->fault,
                  "Faulty solver for tests and demos: STEP:LAYER:RANK corrupts that layer's "
                  "forward output at that step on that rank");
  run->add_option("--init-from", f->init_from,
                  "Start from a PyTorch state_dict's parameters (torch.save / mlcp export; "
                  "docs/export.md) instead of the seed's; a run that starts at step 0 only");
  run->add_flag("--timeline", f->timeline,
                "Write each rank's timeline (Chrome trace / Perfetto JSON) to "
                "RUN_DIR/timeline/rank-NNNNN.json");
  run->callback([=] { runJob(*job, *f); });

  auto* validate = app.add_subcommand("validate", "Check a job file without running it");
  auto vjob = std::make_shared<std::string>();
  auto ranks = std::make_shared<int>(0);
  validate->add_option("job", *vjob, "Job file (TOML)")->required();
  validate->add_option("--ranks", *ranks, "Also check the plan against this many ranks");
  validate->callback([=] { validateJob(*vjob, *ranks); });

  auto* info = app.add_subcommand("info", "Ranks, hosts, threads, library versions, devices");
  info->callback([] { printInfo(); });
}

}  // namespace mlcp::app
