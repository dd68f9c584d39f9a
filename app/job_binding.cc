#include "app/job_binding.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "base/error.h"
#include "bridge/commitment_publisher.h"
#include "bridge/keccak.h"
#include "bridge/market_client.h"
#include "bridge/task_solver.h"
#include "collectives/mpi/mpi_communicator.h"
#include "models/operators.h"
#include "runtime/job_setup.h"
#include "runtime/program_check.h"
#include "runtime/trainer.h"
#include "verify/checkpoint.h"

namespace mlcp::app {

bridge::Hash32 toHash32(const verify::Hash256& h) {
  bridge::Hash32 out{};
  std::copy(h.bytes.begin(), h.bytes.end(), out.begin());
  return out;
}

namespace {

// A temporary folder removed when it goes out of scope.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "mlcp-identity-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw IoError("cannot create a folder under /tmp");
    path = templ;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

std::string specText(const jobs::JobSpec& spec, const std::string& data_hash) {
  return "mlcp.spec.v1\n" + runtime::programText(spec) +
         "runtime.ops_version = " + models::opSetVersion(runtime::jobOperators(spec).set()) +
         "\ndata.content_hash = " + data_hash + "\n";
}

bridge::Hash32 specHash(const jobs::JobSpec& spec, const std::string& data_hash) {
  return bridge::keccak256(specText(spec, data_hash));
}

JobIdentity jobIdentity(const jobs::JobSpec& spec_in, bool with_root) {
  jobs::JobSpec spec = spec_in;
  if (spec.parallel.tp > 1 && with_root) {
    throw UsageError(fmt::format(
        "{}: the initial root of a tensor-parallel job (parallel.tp = {}) is computed on {} ranks: "
        "run `mlcp run JOB --max-steps 0` under mpirun and pass its checkpoint root with "
        "--initial-root",
        spec.source_path, spec.parallel.tp, spec.parallel.tp));
  }
  // One process: the placement never changes the numbers (tp does, and is kept).
  const int64_t tp = spec.parallel.tp;
  spec.parallel = jobs::ParallelSpec{};
  spec.parallel.tp = tp;
  ScratchDir scratch;
  collectives::MpiCommunicator self(MPI_COMM_SELF);
  runtime::TrainerOptions o;
  o.output_dir = scratch.path;
  o.max_steps = 0;
  o.quiet = true;
  o.show_progress = false;
  runtime::Trainer trainer(spec, self, o);
  JobIdentity id;
  id.data_hash = trainer.dataHash();
  id.spec_hash = specHash(spec_in, id.data_hash);
  id.steps = spec.train.steps > 0
                 ? spec.train.steps
                 : runtime::jobSteps(spec, runtime::loadJobData(spec).train->size());
  if (with_root) {
    const auto r = trainer.run();
    id.initial_root = toHash32(verify::Hash256::fromHex(r.checkpoint_root));
  }
  return id;
}

struct BridgeRun::State {
  jobs::JobSpec spec;
  bridge::EthKey key;
  bridge::U256 job_id;
  std::string state_path;  // the solver's task state file (forced errors)
  std::optional<bridge::SolverTaskState> seed;
  int64_t every = 0, start = 0, end = -1;  // the task's steps (start, end]
  std::shared_ptr<bridge::CommitmentPublisher> publisher;
};

BridgeRun::BridgeRun(const jobs::JobSpec& spec)
    : s_(std::make_shared<State>(State{spec, bridge::EthKey::load(spec.bridge.key_file),
                                       bridge::U256(static_cast<uint64_t>(spec.bridge.job_id)), "",
                                       std::nullopt, spec.checkpoint.every, 0, -1, nullptr})) {
  const auto& b = spec.bridge;
  const bridge::Address contract = bridge::parseAddress(b.contract, "bridge.contract");
  s_->state_path = bridge::solverStatePath(b.key_file, contract, s_->job_id);
  bridge::PublisherConfig config;
  config.rpc_url = b.rpc_url;
  config.outbox_path = b.outbox;
  config.contract = contract;
  config.chain_id = static_cast<uint64_t>(b.chain_id);
  s_->publisher = std::make_shared<bridge::CommitmentPublisher>(config, s_->key);
}

BridgeRun::~BridgeRun() = default;

std::string BridgeRun::check(const std::string& start_checkpoint, int64_t* max_steps) {
  State& s = *s_;
  const auto& b = s.spec.bridge;
  const std::string id = s.job_id.toDecimal();
  s.seed = bridge::loadSolverTaskState(s.state_path);
  if (b.rpc_url.empty()) {
    if (s.seed && s.seed->checkpoints != 0) {
      s.every = s.seed->steps_per_checkpoint;
      s.start = int64_t(s.seed->task_index - 1) * s.seed->checkpoints * s.every;
      s.end = s.start + int64_t(s.seed->checkpoints) * s.every;
    }
    fmt::print(
        "bridge: offline (no bridge.rpc_url): job {} is not checked against the chain; its "
        "commitments are queued in {}\n",
        id, b.outbox);
    return "";
  }
  const bridge::Address contract = bridge::parseAddress(b.contract, "bridge.contract");
  bridge::ChainClient chain(b.rpc_url);
  bridge::MarketClient market(chain, contract);
  bridge::JobsClient& jobs = market.jobs();
  const bridge::JobInfo job = jobs.job(s.job_id);
  if (job.state == bridge::JobState::kNone) {
    return fmt::format("job {} does not exist on contract {} (bridge.job_id)", id, b.contract);
  }
  std::optional<bridge::TaskInfo> task;
  try {
    const bridge::TaskInfo t = market.task(s.job_id);
    if (t.isMarketTask()) task = t;
  } catch (const ChainError&) {
    // An MlcpJobs contract has no tasks(): a job of the game alone.
  }
  const std::string what = task ? fmt::format("task {} (job {} of its market job)", id, task->index)
                                : fmt::format("job {}", id);
  // 1. Steps per checkpoint.
  if (int64_t(job.steps_per_checkpoint) != s.spec.checkpoint.every) {
    return fmt::format(
        "{} on chain commits a checkpoint every {} steps, but {} has checkpoint.every = {}: it "
        "is not the job this run trains",
        what, job.steps_per_checkpoint, s.spec.source_path, s.spec.checkpoint.every);
  }
  s.every = job.steps_per_checkpoint;
  const int64_t index = task ? task->index : 1;
  s.start = (index - 1) * int64_t(job.num_checkpoints) * s.every;
  s.end = s.start + int64_t(job.num_checkpoints) * s.every;
  // 2. The spec hash: the program and its data.
  const JobIdentity me = jobIdentity(s.spec, start_checkpoint.empty() && s.start == 0);
  if (me.spec_hash != job.spec_hash) {
    return fmt::format(
        "{} on chain has spec hash {}, but {} and its data hash to {}: this run would train "
        "another job (`mlcp bridge spec-hash {}` prints the text that is hashed)",
        what, bridge::toHex(job.spec_hash), s.spec.source_path, bridge::toHex(me.spec_hash),
        s.spec.source_path);
  }
  if (me.steps < s.end) {
    return fmt::format("{} ends at step {}, but {} has only {} steps", what, s.end,
                       s.spec.source_path, me.steps);
  }
  // 3. The initial root.
  if (start_checkpoint.empty()) {
    if (s.start != 0) {
      return fmt::format(
          "{} starts from step {} (the previous task's final checkpoint): put that checkpoint "
          "in the run's checkpoints/ folder and run with --resume",
          what, s.start);
    }
    if (me.initial_root != job.initial_root) {
      return fmt::format(
          "{} on chain starts from root {}, but this job's seed state has root {}: it is "
          "not the job this run trains",
          what, bridge::toHex(job.initial_root), bridge::toHex(me.initial_root));
    }
  } else {
    const auto reader = verify::CheckpointReader::open(start_checkpoint);
    const int64_t step = reader.step();
    if (step < s.start || step >= s.end) {
      return fmt::format(
          "{} covers steps {}..{}, but the checkpoint to resume from ({}) is at "
          "step {}",
          what, s.start + 1, s.end, start_checkpoint, step);
    }
    if (step == s.start && toHash32(reader.root()) != job.initial_root) {
      return job.initial_root == bridge::Hash32{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}
                 ? fmt::format(
                       "{} cannot start yet: the previous task's final root is not final "
                       "(its seed is not revealed)",
                       what)
                 : fmt::format(
                       "{} on chain starts from root {}, but {} has root {}: it is not "
                       "the state this task continues",
                       what, bridge::toHex(job.initial_root), start_checkpoint,
                       reader.root().hex());
    }
  }
  // 4. The job must be this key's to commit.
  if (job.state != bridge::JobState::kAccepted) {
    return job.state == bridge::JobState::kOpen
               ? fmt::format(
                     "{} is not accepted yet: accept it first (`mlcp bridge task accept` "
                     "or `mlcp bridge job accept`)",
                     what)
               : fmt::format("{} is {}: there is nothing left to commit", what,
                             bridge::toString(job.state));
  }
  if (job.solver != s.key.address()) {
    return fmt::format("{} was accepted by {}, not by this run's key {} ({})", what,
                       bridge::checksumAddress(job.solver), s.key.addressHex(), b.key_file);
  }
  // 5. Forced errors: the seed must be anchored before the first root is signed.
  if (task && task->seedRequired()) {
    bridge::SolverTask solver(market, s.key, s.job_id, s.state_path);
    if (solver.state().seed == bridge::Hash32{}) {
      return fmt::format(
          "{} needs the solver's seed, but {} holds none (was it accepted with "
          "`mlcp bridge task accept` and this key file?)",
          what, s.state_path);
    }
    const uint64_t j = solver.anchor(600);
    s.seed = solver.state();
    fmt::print("bridge: {}: seed anchored; {}\n", what,
               j == 0 ? std::string("no checkpoint is forced")
                      : fmt::format("checkpoint {} carries a forced error", j));
  }
  if (me.steps > s.end && (*max_steps < 0 || *max_steps > s.end)) {
    *max_steps = s.end;
    fmt::print("bridge: {} covers steps {}..{}; this run stops after step {}\n", what, s.start + 1,
               s.end, s.end);
  }
  std::fflush(stdout);
  return "";
}

std::function<void(int64_t, const verify::Hash256&)> BridgeRun::hook() {
  std::shared_ptr<State> s = s_;
  return [s](int64_t step, const verify::Hash256& root) {
    if (step <= s->start || s->every <= 0 || (step - s->start) % s->every != 0) return;
    if (s->end >= 0 && step > s->end) return;
    const uint64_t index = static_cast<uint64_t>((step - s->start) / s->every);
    const bridge::Hash32 true_root = toHash32(root);
    bridge::Hash32 r = true_root;
    if (s->seed) r = bridge::rootToCommit(*s->seed, s->state_path, index, true_root);
    const auto res = s->publisher->publish(s->job_id, index, r);
    const std::string forced = r != true_root
                                   ? fmt::format(
                                         " — the task's forced error (true root {} kept for the "
                                         "seed reveal)",
                                         root.hex())
                                   : std::string();
    if (res.route == bridge::PublishResult::Route::kSent && res.receipt) {
      fmt::print("bridge: commitment {} (step {}) on chain: job {} root {} tx {} gas {}{}\n", index,
                 step, s->job_id.toDecimal(), bridge::toHex(r), bridge::toHex(res.tx_hash),
                 res.receipt->gas_used, forced);
    } else {
      fmt::print("bridge: commitment {} (step {}) queued in {}{}{}\n", index, step,
                 s->publisher->config().outbox_path, res.note.empty() ? "" : " (" + res.note + ")",
                 forced);
    }
    std::fflush(stdout);
  };
}

}  // namespace mlcp::app
