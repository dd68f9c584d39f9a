// `mlcp verifier watch`: a verifier of MlcpMarket tasks (issue #17; bridge/task_verifier.h has
// the protocol as numbered steps). It watches the market for jobs whose spec hash is its own
// job file's (so it replays exactly the program the chain names), takes a slot in each of their
// tasks, replays its secret sample of checkpoint intervals on its own placement (this process)
// from the input states the solver serves to its proven sample (bridge/state_exchange.h),
// commits and reveals its verdicts, challenges a root it found wrong and plays the dispute to
// the verdict (app/task_dispute.h), relaying the referee committee's signatures, and withdraws.
// Its transactions are journaled (bridge/journaled_sender.h): a node that goes away is retried
// with back-off, and no action is ever sent twice.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "app/commands.h"
#include "app/job_binding.h"
#include "app/market_role.h"
#include "app/task_dispute.h"
#include "base/error.h"
#include "bridge/checkers_client.h"
#include "bridge/journaled_sender.h"
#include "bridge/market_client.h"
#include "bridge/state_exchange.h"
#include "bridge/task_verifier.h"
#include "bridge/watch_loop.h"
#include "collectives/mpi/mpi_communicator.h"
#include "collectives/mpi/mpi_runtime.h"
#include "jobs/job_spec.h"
#include "runtime/trainer.h"
#include "verify/checkpoint.h"

namespace mlcp::app {
namespace {

struct WatchFlags : MarketRoleOptions {
  std::string job, work;
  bool until_done = false;
  bool lazy = false;  // hidden: approve without replaying (tests: a lazy checker)
};

void say(const std::string& line) { sayAs("verifier", line); }

// Where a task's interval sits in the job: its checkpoint 0 at `start`, S steps per checkpoint.
struct TaskShape {
  int64_t start = 0, every = 0;
};

class Verifier {
 public:
  explicit Verifier(const WatchFlags& f)
      : f_(f),
        spec_(jobs::loadJobSpec(f.job)),
        chain_(f.rpc),
        market_address_(bridge::parseAddress(f.market, "--market")),
        market_(chain_, market_address_),
        key_(bridge::EthKey::load(f.key)),
        journal_(chain_, f.work + "/journal.jsonl"),
        exchange_(f.exchange),
        self_(MPI_COMM_SELF) {
    checkers_ = std::make_unique<bridge::CheckersClient>(chain_, market_.checkersAddress());
    market_.setSender(journal_.sender());
    checkers_->setSender(journal_.sender());
    // Replays run on this one process; the tensor-parallel degree is part of the numbers.
    replay_spec_ = spec_;
    const int64_t tp = spec_.parallel.tp;
    replay_spec_.parallel = jobs::ParallelSpec{};
    replay_spec_.parallel.tp = tp;
    spec_hash_ = jobIdentity(spec_, false).spec_hash;
    say(fmt::format("{} watching market {} for jobs of {} (spec hash {}){}", key_.addressHex(),
                    f.market, f.job, bridge::toHex(spec_hash_),
                    f.lazy ? " — APPROVING WITHOUT REPLAYING (--approve-without-replay)" : ""));
  }

  // One pass over the tasks of every matching job; true when there was at least one and all
  // are done.
  bool step() {
    for (const bridge::U256& first : market_.marketJobs()) {
      if (seen_jobs_.count(first.toDecimal()) != 0) continue;
      seen_jobs_[first.toDecimal()] = true;
      if (market_.jobs().job(first).spec_hash != spec_hash_) continue;
      const bridge::GroupInfo g = market_.group(first);
      say(fmt::format("market job {}: {} tasks of this job", first.toDecimal(), g.num_tasks));
      for (uint32_t t = 0; t < g.num_tasks; ++t) addTask(first + bridge::U256(t));
    }
    bool all_done = !tasks_.empty();
    for (auto& [id, task] : tasks_) {
      if (done_[id]) continue;
      const auto p = task->advance();
      if (p == bridge::VerifierTask::Progress::kDone) {
        done_[id] = true;
      } else {
        all_done = false;
      }
    }
    return f_.until_done && all_done;
  }

 private:
  void addTask(const bridge::U256& task) {
    const std::string id = task.toDecimal();
    bridge::VerifierHooks hooks;
    hooks.log = say;
    hooks.replay = [this](const bridge::U256& t, uint64_t k, const bridge::SampleProof& proof) {
      return replay(t, k, proof);
    };
    hooks.dispute_hashes = [this](const bridge::U256& t, uint64_t k) {
      const TaskShape s = shapeOf(t);
      const std::string key = t.toDecimal() + "/" + std::to_string(k);
      auto it = hashes_.find(key);
      if (it == hashes_.end()) {
        it = hashes_
                 .emplace(key,
                          std::make_unique<RunHashes>("verifier", replayDir(t, k), s.start, s.every,
                                                      replayDir(t, k) + "-dispute", self_))
                 .first;
      }
      return it->second->hashes();
    };
    hooks.verdicts = [this](const bridge::U256& t, const bridge::U256& dispute) {
      return exchange_.verdicts(t, dispute);
    };
    bridge::VerifierOptions options;
    options.replay = !f_.lazy;
    tasks_[id] = std::make_unique<bridge::VerifierTask>(
        market_, *checkers_, key_, task, f_.work + "/task-" + id + ".json", hooks, options);
    done_[id] = false;
  }

  TaskShape shapeOf(const bridge::U256& task) {
    const bridge::JobInfo job = market_.jobs().job(task);
    TaskShape s;
    s.every = job.steps_per_checkpoint;
    s.start = int64_t(market_.task(task).index - 1) * job.num_checkpoints * s.every;
    return s;
  }

  std::string replayDir(const bridge::U256& task, uint64_t k) const {
    return fmt::format("{}/task-{}/replay-{}", f_.work, task.toDecimal(), k);
  }

  // The input state of interval k, once the solver served it; then the replay of the interval
  // from it (the trainer, on this process) and its root.
  std::optional<bridge::Hash32> replay(const bridge::U256& task, uint64_t k,
                                       const bridge::SampleProof& proof) {
    const TaskShape s = shapeOf(task);
    const int64_t from = s.start + int64_t(k - 1) * s.every, to = from + s.every;
    const std::string served =
        exchange_.servedDir(task, proof.slot) + "/checkpoints/" + verify::checkpointDirName(from);
    if (!std::filesystem::is_directory(served)) {
      const std::string posted = task.toDecimal() + "/" + std::to_string(proof.slot);
      if (posted_.count(posted) == 0) {
        exchange_.postRequest(proof);
        posted_[posted] = true;
        say(
            fmt::format("task {}: asked the solver for the input of checkpoint {} (step {}), "
                        "proving slot {}'s sample",
                        task.toDecimal(), k, from, proof.slot));
      }
      return std::nullopt;
    }
    const std::string dir = replayDir(task, k);
    const std::string start = verify::checkpointDir(dir, from);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    std::filesystem::create_directories(verify::checkpointsRoot(dir), ec);
    std::filesystem::copy(served, start, std::filesystem::copy_options::recursive, ec);
    if (ec) throw IoError(fmt::format("cannot copy {} to {}: {}", served, start, ec.message()));
    runtime::TrainerOptions o;
    o.output_dir = dir;
    o.start_checkpoint = start;
    o.max_steps = to;
    o.quiet = true;
    o.show_progress = false;
    runtime::Trainer trainer(replay_spec_, self_, o);
    const auto r = trainer.run();
    say(fmt::format("task {}: replayed checkpoint {} (steps {}..{}) on this process: root {}",
                    task.toDecimal(), k, from + 1, to, r.checkpoint_root));
    return toHash32(verify::Hash256::fromHex(r.checkpoint_root));
  }

  WatchFlags f_;
  jobs::JobSpec spec_, replay_spec_;
  bridge::ChainClient chain_;
  bridge::Address market_address_;
  bridge::MarketClient market_;
  bridge::EthKey key_;
  bridge::JournaledSender journal_;
  bridge::StateExchange exchange_;
  collectives::MpiCommunicator self_;
  std::unique_ptr<bridge::CheckersClient> checkers_;
  bridge::Hash32 spec_hash_{};
  std::map<std::string, bool> seen_jobs_, done_, posted_;
  std::map<std::string, std::unique_ptr<bridge::VerifierTask>> tasks_;
  std::map<std::string, std::unique_ptr<RunHashes>> hashes_;
};

void watchAsVerifier(const WatchFlags& f) {
  collectives::MpiRuntime mpi;
  std::filesystem::create_directories(f.work);
  Verifier v(f);
  bridge::WatchOptions wo;
  wo.poll_s = f.poll_s;
  wo.log = say;
  bridge::watch([&] { return v.step(); }, wo);
  say("every task of the watched jobs is done");
}

}  // namespace

void addVerifierCommands(CLI::App& app) {
  CLI::App* verifier = app.add_subcommand("verifier", "A verifier of market tasks");
  verifier->require_subcommand(1);
  auto f = std::make_shared<WatchFlags>();
  CLI::App* cmd = verifier->add_subcommand(
      "watch",
      "Watch a market for tasks of a job, replay a secret sample of their checkpoint intervals, "
      "commit and reveal verdicts, challenge wrong roots and play the dispute, withdraw");
  addMarketRoleOptions(*cmd, *f, "The verifier's chain key file (posts deposits and bonds)");
  cmd->add_option("--job", f->job, "The job file whose market jobs to verify (by spec hash)")
      ->required();
  cmd->add_option("--work", f->work,
                  "This verifier's folder: task state (its secrets), journal, replays")
      ->required();
  cmd->add_flag("--until-done", f->until_done,
                "Exit once every task of the watched jobs has ended and been withdrawn");
  cmd->add_flag("--approve-without-replay", f->lazy, "")->group("");  // tests: a lazy checker
  cmd->callback([f] { watchAsVerifier(*f); });
}

}  // namespace mlcp::app
