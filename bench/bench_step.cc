// bench_step — mlcp's training step vs a plain LibTorch loop training the same model on the same
// micro-batches, in one process, measured side by side in this run.
//
//   bench_step [JOB.toml...] [--steps N] [--repeats R]
//   bench_step [JOB.toml...] --overhead EVERY [--steps N] [--repeats R]
//   bench_step [JOB.toml...] --only plain|mlcp [--steps N]     one side once, for a profiler
//
// The plain loop is what a PyTorch user writes for the same logical batch: for each of the M
// micro-batches forward, loss/M, backward (gradients accumulate in .grad), then one AdamW step.
// mlcp's step adds what makes it placement-independent: one float32 contribution per
// micro-batch, the exact fixed-point sum (collectives/exact_sum.h), slot-exact loss reporting
// and per-step metrics. Target: mlcp / plain <= 1.03. Printed: the ratio of the best times, and
// the median over repeats of the ratio of two runs made one right after the other ("paired"),
// which machine-speed drift between runs disturbs less.
//
// --overhead EVERY measures what verifiability costs inside mlcp's own step (issue #4, target
// <= 2% of step time): the same job trained bare (no per-step state hash, no checkpoint), with
// the per-step state hash, and with the hash plus a checkpoint every EVERY steps (HDF5 shards,
// BLAKE2b of every tensor, signed manifest, fsync, atomic rename) — all in this run. Here
// --steps sets the length of every run (the job's own step count is ignored); the time per step
// is the step loop's, with its periodic checkpoints (the run's final checkpoint comes after it).
#include <fmt/format.h>
#include <mpi.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/bench_cli.h"
#include "bench/bench_stats.h"
#include "collectives/mpi/mpi_communicator.h"
#include "collectives/mpi/mpi_runtime.h"
#include "data/fashion_mnist.h"
#include "data/sample_order.h"
#include "data/text_corpus.h"
#include "jobs/job_spec.h"
#include "mlcp/config.h"
#include "models/layer_model.h"
#include "runtime/job_setup.h"
#include "runtime/trainer.h"

namespace {

double plainLoopSeconds(const mlcp::jobs::JobSpec& spec, int64_t steps) {
  mlcp::data::DataSplits data =
      spec.data.kind == "text"
          ? mlcp::data::loadTextCorpus(spec.data.path, spec.model.context,
                                       spec.data.holdout_fraction, spec.data.train_limit, 1)
          : mlcp::data::loadFashionMnist(spec.data.path, spec.data.train_limit, 1);
  // The job's operator set on both sides, so the ratio is mlcp's own overhead.
  const auto ops = mlcp::runtime::jobOperators(spec);
  auto model = mlcp::models::buildModel(spec.model, data.num_classes, spec.seed, nullptr, ops);
  auto opt = mlcp::runtime::makeOptimizer(spec.optimizer, model->parameters(), ops);
  const int64_t m = spec.train.micro_batches;
  mlcp::data::MicroBatchPlan plan(spec.seed, data.train->size(), spec.train.global_batch, m);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < steps; ++step) {
    opt->zero_grad();
    for (int64_t j = 0; j < m; ++j) {
      auto b = data.train->batch(plan.microBatch(step, j));
      auto loss = model->loss(model->forward(b.input), b.target) / static_cast<double>(m);
      loss.backward();
    }
    opt->step();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

namespace {

// Seconds per step of the job trained by mlcp with the given verification features: the whole
// step, and the step loop's own time on verification (hashes and checkpoints, without the work
// handed to background threads).
struct StepTimes {
  double step = 0, verification = 0;
};

StepTimes mlcpSecondsPerStep(const mlcp::jobs::JobSpec& spec,
                             mlcp::collectives::Communicator& world, int64_t steps, bool hashes,
                             int64_t checkpoint_every) {
  std::string out = "/tmp/mlcp-bench-step-XXXXXX";
  if (mkdtemp(out.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  auto job = spec;
  job.checkpoint.every = checkpoint_every;
  mlcp::runtime::TrainerOptions opts;
  opts.output_dir = out;
  opts.max_steps = steps;
  opts.show_progress = false;
  opts.quiet = true;
  opts.state_hashes = hashes;
  opts.write_checkpoints = checkpoint_every > 0;
  mlcp::runtime::Trainer trainer(job, world, opts);
  const auto result = trainer.run();
  std::filesystem::remove_all(out);
  const double n = static_cast<double>(result.steps);
  return {result.loop_seconds / n, result.verification_seconds / n};
}

// Each job's mlcp step under the reproducible operators against the native ones, alternated;
// the ratio of the best times and the median of the paired ratios.
int compareOperatorSets(const std::vector<std::string>& jobs,
                        mlcp::collectives::Communicator& world, int64_t steps, int repeats) {
  fmt::print(
      "bench_step --ops: {} steps per measurement, best of {} (1 process, intra-op "
      "threads from each job)\n",
      steps, repeats);
  fmt::print("{:<20} {:>12} {:>16} {:>7} {:>7}\n", "job", "native ms", "reproducible ms", "ratio",
             "paired");
  for (const auto& path : jobs) {
    auto spec = mlcp::jobs::loadJobSpec(path);
    spec.train.steps = steps;
    spec.train.epochs = 0;
    spec.train.eval_every = 0;
    auto native = spec, repro = spec;
    native.runtime.ops = "native";
    repro.runtime.ops = "reproducible";
    double best_native = 1e30, best_repro = 1e30;
    std::vector<double> paired;
    for (int r = 0; r < repeats; ++r) {
      const double n = mlcpSecondsPerStep(native, world, steps, true, 0).step;
      const double p = mlcpSecondsPerStep(repro, world, steps, true, 0).step;
      best_native = std::min(best_native, n);
      best_repro = std::min(best_repro, p);
      paired.push_back(p / n);
    }
    fmt::print("{:<20} {:>12.2f} {:>16.2f} {:>7.3f} {:>7.3f}\n", spec.name, 1e3 * best_native,
               1e3 * best_repro, best_repro / best_native, mlcp::bench::median(paired));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> jobs;
  int64_t steps = 60, overhead_every = 0;
  int repeats = 3;
  std::string only;
  bool compare_ops = false;
  CLI::App app{"mlcp's step time against a plain LibTorch loop on the same job", "bench_step"};
  app.add_option("jobs", jobs,
                 "Job files (default: bench/jobs/step_mlp, step_mlp_b1024, step_gpt)");
  app.add_option("--steps", steps, "Steps per run (the job's own count is ignored)")
      ->check(CLI::PositiveNumber);
  app.add_option("--repeats", repeats, "Runs per side; the best and the median are printed")
      ->check(CLI::PositiveNumber);
  app.add_option("--overhead", overhead_every,
                 "Measure verifiability's cost: state hashes and a checkpoint every EVERY steps");
  app.add_option("--only", only, "One side once, for a profiler")
      ->check(CLI::IsMember({"plain", "mlcp"}));
  app.add_flag("--ops", compare_ops,
               "Compare the operator sets: each job's mlcp step with runtime.ops = reproducible "
               "vs native (default jobs: the example jobs in jobs/)");
  return mlcp::bench::runBenchmark(app, argc, argv, [&] {
    if (jobs.empty() && compare_ops) {
      for (const char* name : {"fashion_mnist_mlp", "fashion_mnist_cnn", "gpt_fortunes"}) {
        jobs.push_back(std::string(MLCP_SOURCE_DIR) + "/jobs/" + name + ".toml");
      }
    }
    if (jobs.empty()) {
      jobs = {std::string(MLCP_SOURCE_DIR) + "/bench/jobs/step_mlp.toml",
              std::string(MLCP_SOURCE_DIR) + "/bench/jobs/step_mlp_b1024.toml",
              std::string(MLCP_SOURCE_DIR) + "/bench/jobs/step_gpt.toml"};
    }
    mlcp::collectives::MpiRuntime mpi;
    mlcp::collectives::MpiCommunicator world(MPI_COMM_WORLD);
    if (!only.empty()) {
      // One side, once: `valgrind --tool=callgrind` of two step counts gives a step's
      // instructions (the difference), every thread included.
      for (const auto& path : jobs) {
        auto spec = mlcp::jobs::loadJobSpec(path);
        torch::set_num_threads(static_cast<int>(spec.runtime.intra_op_threads));
        const double s =
            only == "plain"
                ? plainLoopSeconds(spec, steps) / static_cast<double>(steps)
                : mlcpSecondsPerStep(spec, world, steps, true, spec.checkpoint.every).step;
        fmt::print("{:<28} {} {:.3f} ms/step\n", spec.name, only, 1e3 * s);
      }
      return 0;
    }
    if (compare_ops) return compareOperatorSets(jobs, world, steps, repeats);
    if (overhead_every > 0) {
      fmt::print(
          "bench_step --overhead: {} steps per measurement, best of {}; checkpoint every {} "
          "steps (1 process)\n",
          steps, repeats, overhead_every);
      fmt::print("{:<16} {:>10} {:>12} {:>9} {:>14} {:>9} {:>12}\n", "job", "bare ms", "+hash ms",
                 "hash %", "+checkpoint ms", "total %", "blocking %");
      for (const auto& path : jobs) {
        auto spec = mlcp::jobs::loadJobSpec(path);
        // The run is --steps long whatever the job says: an interval's cost only shows over
        // several intervals. The run's final checkpoint is not part of the step loop.
        spec.train.steps = steps;
        spec.train.epochs = 0;
        const int64_t n = steps;
        double bare = 1e30, hashed = 1e30;
        StepTimes full{1e30, 0};
        for (int r = 0; r < repeats; ++r) {  // interleaved, so machine noise hits all three alike
          bare = std::min(bare, mlcpSecondsPerStep(spec, world, n, false, 0).step);
          hashed = std::min(hashed, mlcpSecondsPerStep(spec, world, n, true, 0).step);
          const auto t = mlcpSecondsPerStep(spec, world, n, true, overhead_every);
          if (t.step < full.step) full = t;
        }
        // blocking %: the step loop's own time on hashes and checkpoints in the fastest full run —
        // the overhead where spare cores run the background hashing and writing.
        fmt::print("{:<16} {:>10.2f} {:>12.2f} {:>8.2f}% {:>14.2f} {:>8.2f}% {:>11.2f}%\n",
                   spec.name, 1e3 * bare, 1e3 * hashed, 100.0 * (hashed / bare - 1.0),
                   1e3 * full.step, 100.0 * (full.step / bare - 1.0),
                   100.0 * full.verification / bare);
      }
      return 0;
    }
    fmt::print(
        "bench_step: {} steps per measurement, best of {} (1 process, intra-op threads from "
        "the job)\n",
        steps, repeats);
    // ratio: of the two best times; paired: the median over repeats of mlcp / plain measured one
    // right after the other — the steadier figure where the machine's speed drifts between runs.
    // "mlcp" is the step as `mlcp run` trains it; "no hash" the same without the per-step state
    // hash, which is verification's cost (issue #4, --overhead) rather than the step's.
    fmt::print("{:<16} {:>9} {:>9} {:>7} {:>7} {:>9} {:>7} {:>7}\n", "job", "plain ms", "mlcp ms",
               "ratio", "paired", "no hash", "ratio", "paired");
    for (const auto& path : jobs) {
      auto spec = mlcp::jobs::loadJobSpec(path);
      torch::set_num_threads(static_cast<int>(spec.runtime.intra_op_threads));
      // Both sides train the same number of steps: the job's, capped by --steps.
      const int64_t n = std::min(steps, spec.train.steps > 0 ? spec.train.steps : steps);
      double plain = 1e30, ours = 1e30, bare = 1e30;
      std::vector<double> paired, paired_bare;
      for (int r = 0; r < repeats; ++r) {
        // Alternate the three so that machine noise hits them alike.
        const double p = plainLoopSeconds(spec, n) / static_cast<double>(n);
        const double o = mlcpSecondsPerStep(spec, world, n, true, spec.checkpoint.every).step;
        const double b = mlcpSecondsPerStep(spec, world, n, false, spec.checkpoint.every).step;
        plain = std::min(plain, p);
        ours = std::min(ours, o);
        bare = std::min(bare, b);
        paired.push_back(o / p);
        paired_bare.push_back(b / p);
      }
      fmt::print("{:<16} {:>9.2f} {:>9.2f} {:>7.3f} {:>7.3f} {:>9.2f} {:>7.3f} {:>7.3f}\n",
                 spec.name, 1e3 * plain, 1e3 * ours, ours / plain, mlcp::bench::median(paired),
                 1e3 * bare, bare / plain, mlcp::bench::median(paired_bare));
    }
    return 0;
  });
}
