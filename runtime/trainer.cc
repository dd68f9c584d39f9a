#include "runtime/trainer.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>

#include "base/error.h"
#include "data/sample_order.h"
#include "models/layer_model.h"
#include "models/model_registry.h"
#include "partition/schedule.h"
#include "runtime/checkpointer.h"
#include "runtime/job_setup.h"
#include "runtime/local_executor.h"
#include "runtime/mean_gradient.h"
#include "runtime/metrics.h"
#include "runtime/model_state.h"
#include "runtime/operator_trace_observer.h"
#include "runtime/parameter_import.h"
#include "runtime/pipeline_executor.h"
#include "runtime/program_check.h"
#include "runtime/progress.h"
#include "runtime/state_chain.h"
#include "runtime/stop_signal.h"
#include "runtime/volunteer_coordinator.h"
#include "verify/checkpoint.h"

namespace mlcp::runtime {

using collectives::Communicator;
using collectives::DataType;
using collectives::ReduceOp;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Adds the wall time of its scope to `total`, unless an enclosing timer on the same total is
// already counting it (nested verification work is counted once).
class ScopeTimer {
 public:
  ScopeTimer(double& total, int& depth) : total_(total), depth_(depth), start_(Clock::now()) {
    ++depth_;
  }
  ~ScopeTimer() {
    if (--depth_ == 0) total_ += secondsSince(start_);
  }
  ScopeTimer(const ScopeTimer&) = delete;
  ScopeTimer& operator=(const ScopeTimer&) = delete;

 private:
  double& total_;
  int& depth_;
  Clock::time_point start_;
};

// The logical micro-batch a planted fault corrupts; UsageError when it names a step, layer,
// rank or micro-batch the run does not have.
int64_t resolveFault(const PlantedFault& f, const Placement& placement, int64_t total_steps,
                     int64_t layers, int64_t micro_batches) {
  const int size = placement.worldSize();
  const bool rank_ok = f.micro_batch >= 0 || (f.rank >= 0 && f.rank < size);
  if (f.step > total_steps || f.layer < 0 || f.layer >= layers || !rank_ok ||
      f.micro_batch >= micro_batches) {
    throw UsageError(
        fmt::format("--fault {}:{}:{}: expected STEP in 1..{}, LAYER in 0..{} and RANK in 0..{}",
                    f.step, f.layer, f.rank, total_steps, layers - 1, size - 1));
  }
  if (f.micro_batch >= 0) return f.micro_batch;
  const int replica = partition::MeshLayout(placement.mesh()).coords(f.rank).dp;
  return placement.micro_batches.at(static_cast<size_t>(replica)).first;
}

// The job's public key for volunteers, as the coordinator recorded it.
std::string readJobKey(const std::string& run_dir) {
  std::ifstream in(run_dir + "/volunteers/job_key");
  std::string key;
  in >> key;
  return key;
}

// Creates the run directory; returns its path.
const std::string& createRunDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw IoError("cannot create output directory " + dir + ": " + ec.message());
  return dir;
}

}  // namespace

struct Trainer::State {
  jobs::JobSpec spec;
  Communicator& world;
  TrainerOptions options;
  collectives::CollectiveOptions coll;
  std::string run_dir;
  data::DataSplits data;
  Placement placement;
  ProcessGroups groups;
  std::unique_ptr<ModelState> state;
  std::unique_ptr<StepExecutor> executor;
  LrSchedule schedule;
  int64_t total_steps = 0;

  State(const jobs::JobSpec& s, Communicator& w, const TrainerOptions& o)
      : spec(s), world(w), options(o) {}

  LossFunction lossFunction() {
    return [this](const torch::Tensor& logits, const torch::Tensor& target) {
      return models::modelLoss(state->model(), logits, target, groups.tp);
    };
  }
  // The pipeline stage executor of this rank (pp > 1).
  std::unique_ptr<StepExecutor> makePipelineExecutor();
};

std::unique_ptr<StepExecutor> Trainer::State::makePipelineExecutor() {
  StageLayout stage;
  stage.stage = groups.coord.pp;
  stage.stages = placement.mesh().pp;
  stage.virtual_stages = static_cast<int>(spec.parallel.virtual_stages);
  stage.chunks = placement.chunksOfStage(groups.coord.pp);
  // Activation shapes at stage boundaries, from one real micro-batch (every rank alike).
  const int64_t mb_size = spec.train.global_batch / spec.train.micro_batches;
  std::vector<int64_t> probe;
  for (int64_t i = 0; i < mb_size; ++i) probe.push_back(i);
  auto shapes = probeActivationShapes(state->model(), data.train->batch(probe).input);
  const auto [first, end] = placement.micro_batches.at(static_cast<size_t>(groups.coord.dp));
  auto schedule = partition::scheduleFor(spec.parallel.schedule, stage.stages,
                                         static_cast<int>(end - first), stage.virtual_stages);
  return std::make_unique<PipelineExecutor>(state->model(), *groups.pp, std::move(stage),
                                            std::move(shapes), mb_size, std::move(schedule),
                                            spec.seed, lossFunction());
}

Trainer::Trainer(const jobs::JobSpec& spec, Communicator& world, const TrainerOptions& options)
    : s_(std::make_unique<State>(spec, world, options)) {
  auto& s = *s_;
  s.coll.timeout =
      std::chrono::milliseconds(static_cast<int64_t>(spec.runtime.collective_timeout_s * 1000.0));
  s.run_dir = options.output_dir.empty() ? spec.output_dir : options.output_dir;
  setIntraOpThreads(spec);
  checkRanksAgree(spec, world, s.coll);
  models::checkModelKind(spec);  // a kind this program cannot build fails before data loads
  s.data = loadJobData(spec);
  jobs::checkWorldSize(spec, world.size());
  // The unsharded model: its layer costs plan the placement, and under tensor parallelism its
  // parameters are what each rank's shards are cut from.
  const models::Operators ops = jobOperators(spec);
  auto logical = models::buildModel(spec.model, s.data.num_classes, spec.seed, nullptr, ops);
  s.placement = placeJob(spec, logical->costs(), world, s.coll, options.balance_plan);
  s.groups = makeProcessGroups(s.placement.mesh(), world);
  auto model = s.groups.tp != nullptr
                   ? models::buildModel(spec.model, s.data.num_classes, spec.seed, s.groups.tp, ops)
                   : logical;
  s.state = std::make_unique<ModelState>(std::move(model), s.placement, s.groups, spec.optimizer,
                                         spec.parallel.shard_optimizer);
  if (s.groups.pp != nullptr) {
    s.executor = s.makePipelineExecutor();
  } else {
    s.executor = std::make_unique<LocalExecutor>(s.state->model(), spec.seed, s.lossFunction());
  }
  s.executor->setRecompute(spec.runtime.recompute);
  if (!spec.runtime.devices_file.empty()) {
    s.executor->setSlowdown(
        s.placement.plan.devices.at(static_cast<size_t>(world.rank())).slowdown);
  }
  const int64_t job_steps = jobSteps(spec, s.data.train->size());
  // --max-steps (tests, replays) stops early; it never changes the logical program, so the
  // schedule's horizon stays the job's.
  s.total_steps = options.max_steps >= 0 ? std::min(job_steps, options.max_steps) : job_steps;
  s.schedule = makeSchedule(spec, job_steps);
}

Trainer::~Trainer() = default;

const Placement& Trainer::placement() const { return s_->placement; }

const std::string& Trainer::dataHash() const { return s_->data.content_hash; }

namespace {

// One run of the step loop: the pieces that live for the run, and what each step does with
// them. Trainer::run conducts.
// Rank 0 with volunteers: keeps their bytes moving while it computes a micro-batch, layer by
// layer (VolunteerCoordinator::progress).
class VolunteerTraffic : public StepObserver {
 public:
  explicit VolunteerTraffic(VolunteerCoordinator& coordinator) : coordinator_(coordinator) {}
  void layerOutput(int64_t, int64_t, torch::Tensor&) override { coordinator_.progress(); }

 private:
  VolunteerCoordinator& coordinator_;
};

class Run {
 public:
  explicit Run(Trainer::State& s);
  TrainResult go();

 private:
  void announce();
  int64_t startState();                                // restore or seed; returns the first step
  void importInitialParameters();                      // --init-from
  void checkpoint(int64_t step);                       // hands the state to the checkpointer
  void commitCheckpoint();                             // finishes the one in flight
  void finishStateHash();                              // completes the previous step's record
  bool runStep(int64_t step, const StopSignal& stop);  // true: stop after this step
  // In a job that takes volunteers, rank 0: how many micro-batches each data-parallel rank gives
  // up to them next step, into the step's slots.
  void planVolunteerUnits(std::vector<double>& slots);
  // Rank 0 when volunteers take given_up_'s units: computes its own [mine_.first, kept_end) and
  // the late ones; `units` gets the micro-batches it answered for, in the order of the losses.
  std::vector<std::optional<double>> runWithVolunteers(int64_t step, int64_t kept_end,
                                                       std::vector<int64_t>& units);
  void update(int64_t step, bool finite);
  void finish();
  ScopeTimer verificationTimer() { return ScopeTimer(result_.verification_seconds, timer_depth_); }

  Trainer::State& s_;
  const jobs::JobSpec& spec_;
  const int rank_;
  const int64_t m_;                   // logical micro-batches per step
  std::pair<int64_t, int64_t> mine_;  // this replica's [first, end)
  // The job takes volunteers (every rank: the share travels with the step's losses), and how
  // many micro-batches each data-parallel rank gives up to them this step.
  const bool offering_;
  std::vector<int64_t> given_up_;
  // Owned parameters (indices into ModelState::owned) of the whole model and of each pipeline
  // chunk: the .grad a micro-batch's backward leaves.
  std::vector<int64_t> all_owned_;
  std::vector<std::vector<int64_t>> chunk_owned_;
  MetricsWriter metrics_;
  ProgressReporter progress_;
  data::MicroBatchPlan plan_;
  TrainResult result_;
  int timer_depth_ = 0;
  // Observers, in the order they see a layer's output: the fault first, then the trace.
  std::optional<FaultObserver> fault_;
  std::optional<OperatorTraceObserver> trace_;
  std::optional<TimelineObserver> timeline_;
  ObserverList observers_;
  MeanGradient gradient_;
  StateChain chain_;
  nlohmann::json pending_record_;  // the step whose state hash is being computed
  Checkpointer checkpointer_;
  // Rank 0 of a job that takes volunteers; nullptr elsewhere.
  std::unique_ptr<VolunteerCoordinator> volunteers_;
  std::optional<VolunteerTraffic> volunteer_traffic_;
  Clock::time_point t0_;
};

Run::Run(Trainer::State& s)
    : s_(s),
      spec_(s.spec),
      rank_(s.world.rank()),
      m_(s.spec.train.micro_batches),
      mine_(s.placement.micro_batches.at(static_cast<size_t>(s.groups.coord.dp))),
      offering_(s.options.take_volunteers && s.spec.volunteers.enabled),
      given_up_(s.placement.micro_batches.size(), 0),
      metrics_(createRunDir(s.run_dir), rank_, !s.options.start_checkpoint.empty()),
      progress_(rank_ == 0 && !s.options.quiet, s.options.show_progress, s.total_steps,
                s.spec.train.log_every, s.options.progress_style),
      plan_(s.spec.seed, s.data.train->size(), s.spec.train.global_batch, m_),
      gradient_(*s.state, *s.groups.dp, mine_.first, mine_.second),
      chain_(*s.state, s.world, s.coll),
      checkpointer_(s.run_dir, s.world,
                    rank_ == 0 ? loadOrCreateNodeKey(s.spec.checkpoint.key_file, !s.options.quiet)
                               : verify::KeyPair::generate(),
                    s.spec.source_text,
                    {s.spec.source_path, s.data.content_hash,
                     models::opSetVersion(jobOperators(s.spec).set())},
                    s.placement.summary(), s.coll, s.spec.checkpoint.keep) {
  for (size_t k = 0; k < s.state->owned().size(); ++k)
    all_owned_.push_back(static_cast<int64_t>(k));
  if (auto* pipeline = dynamic_cast<PipelineExecutor*>(s.executor.get())) {
    for (const auto& [first, end] : pipeline->layout().chunks) {
      chunk_owned_.push_back(s.state->ownedInLayers(first, end));
    }
  }
  const auto& o = s.options;
  if (o.fault.active()) {
    fault_.emplace(o.fault, resolveFault(o.fault, s.placement, s.total_steps,
                                         s.state->model().numLayers(), m_));
    observers_.add(&*fault_);
  }
  if (o.operator_trace != nullptr) {
    if (s.world.size() != 1) {
      throw UsageError(fmt::format("an operator trace is recorded on one process; this run has {}",
                                   s.world.size()));
    }
    trace_.emplace(*o.operator_trace, o.operator_trace_step, *s.state);
    observers_.add(&*trace_);
  }
  if (o.timeline != nullptr) {
    timeline_.emplace(*o.timeline, rank_, s.groups.coord.dp, s.groups.coord.pp,
                      static_cast<int>(spec_.parallel.virtual_stages), s.groups.pp != nullptr);
    observers_.add(&*timeline_);
  }
  if (o.on_checkpoint) checkpointer_.setPublisher(o.on_checkpoint);
  if (offering_ && rank_ == 0) {
    const std::string& key_file =
        spec_.volunteers.key_file.empty() ? spec_.checkpoint.key_file : spec_.volunteers.key_file;
    volunteers_ = std::make_unique<VolunteerCoordinator>(
        spec_, s.state->params(), s.data.content_hash, s.run_dir,
        loadOrCreateNodeKey(key_file, false),
        [this](const std::string& line) { progress_.message(line); });
    volunteer_traffic_.emplace(*volunteers_);
    observers_.add(&*volunteer_traffic_);
  }
  checkpointer_.setOnCommitted([this](int64_t step, const verify::Hash256& root) {
    result_.checkpoint_root = root.hex();
    result_.checkpoint_dir = verify::checkpointDir(s_.run_dir, step);
    progress_.message(fmt::format("checkpoint step {}: root {}", step, root.hex()));
    metrics_.write("checkpoint", {{"step", step}, {"root", root.hex()}});
  });
}

void Run::announce() {
  auto& model = s_.state->model();
  if (rank_ == 0) {
    progress_.message(fmt::format(
        "mlcp: training {} ({} parameters) on {} ranks x {} threads | data {} | {} steps of {} "
        "samples in {} micro-batches",
        spec_.model.kind, model.numParameters(), s_.world.size(), spec_.runtime.intra_op_threads,
        s_.data.train->describe(), s_.total_steps, spec_.train.global_batch, m_));
    if (s_.world.size() > 1 || !spec_.runtime.devices_file.empty()) {
      progress_.message(s_.placement.describe());
    }
    if (volunteers_) {
      progress_.message(fmt::format(
          "mlcp: volunteers connect with: mlcp volunteer --connect {} --job {} --key KEYFILE "
          "(job key {})",
          volunteers_->address(), spec_.name, readJobKey(s_.run_dir)));
    }
  }
  metrics_.write("start", {{"ranks", s_.world.size()},
                           {"pid", static_cast<int64_t>(getpid())},
                           {"micro_batches", {mine_.first, mine_.second}},
                           {"plan", s_.placement.summary()},
                           {"stage", s_.groups.coord.pp},
                           {"parameters", model.numParameters()},
                           {"steps", s_.total_steps}});
  if (fault_) {
    const auto& f = s_.options.fault;
    const int64_t mb = resolveFault(f, s_.placement, s_.total_steps, model.numLayers(), m_);
    progress_.message(fmt::format(
        "mlcp: FAULTY SOLVER (--fault): micro-batch {} (rank {}) corrupts layer {}'s forward "
        "output at step {}",
        mb, f.micro_batch >= 0 ? rank_ : f.rank, f.layer, f.step));
    metrics_.write("fault", {{"step", f.step}, {"layer", f.layer}, {"micro_batch", mb}});
  }
}

int64_t Run::startState() {
  if (s_.options.start_checkpoint.empty()) {
    // A run directory is one program's: never mix another job's checkpoints into it.
    const auto existing = verify::listCheckpoints(s_.run_dir);
    if (!existing.empty()) {
      std::optional<verify::CheckpointReader> newest;
      try {
        newest.emplace(verify::CheckpointReader::open(existing.back().dir));
      } catch (const Error&) {
        // Unreadable: this run will replace it step by step.
      }
      if (newest) {
        checkSameProgram(newest->manifest(), existing.back().dir, spec_, s_.data.content_hash);
      }
    }
    if (!s_.options.init_from.empty()) importInitialParameters();
    chain_.startFromCurrentState();
    return 0;
  }
  verify::ReaderOptions read;
  if (!s_.options.start_signer.empty()) read.expected_signer = s_.options.start_signer;
  auto reader = verify::CheckpointReader::open(s_.options.start_checkpoint, read);
  checkSameProgram(reader.manifest(), s_.options.start_checkpoint, spec_, s_.data.content_hash);
  verify::Hash256 stored;
  bool has_chain = false;
  const int64_t start = s_.state->restore(reader, &stored, &has_chain);
  // A checkpoint without a stored chain starts a new one at its own state.
  if (has_chain) {
    chain_.continueFrom(stored);
  } else {
    chain_.startFromCurrentState();
  }
  progress_.message(fmt::format("mlcp: resumed from {} (step {}, root {})",
                                s_.options.start_checkpoint, start, reader.root().hex()));
  return start;
}

// --init-from: every rank reads the file; all agree it worked before any of them goes on.
void Run::importInitialParameters() {
  const std::string& path = s_.options.init_from;
  std::string error;
  int64_t tensors = 0;
  if (s_.groups.tp != nullptr) {
    error = fmt::format("--init-from {}: not supported with tensor parallelism (parallel.tp = {})",
                        path, spec_.parallel.tp);
  } else {
    try {
      tensors = importParameters(path, s_.state->params());
    } catch (const Error& e) {
      error = e.what();
    }
  }
  int32_t ok = error.empty() ? 1 : 0;
  s_.world.allreduce(&ok, 1, DataType::kInt32, ReduceOp::kMin, s_.coll);
  if (!error.empty()) throw UsageError(error);
  if (ok == 0)
    throw UsageError(fmt::format("--init-from {}: another rank could not import it", path));
  progress_.message(
      fmt::format("mlcp: {} parameters from {} replace the seed's (step 0)", tensors, path));
}

void Run::finishStateHash() {
  if (!chain_.inFlight()) return;
  {
    const auto timer = verificationTimer();
    const auto link = chain_.finish();
    pending_record_["state_hash"] = link.digest.hex();
    pending_record_["state_chain"] = link.chain.hex();
  }
  metrics_.write("step", std::move(pending_record_));  // the step's record, as without hashes
}

void Run::commitCheckpoint() {
  if (!checkpointer_.inFlight()) return;
  const auto timer = verificationTimer();
  const ScopedSpan span(observers_, fmt::format("commit {}", checkpointer_.inFlightStep()),
                        "checkpoint", StepObserver::kStepLane);
  checkpointer_.commit();
}

// Checkpoints are written in the background (runtime/checkpointer.h): this hands the state to
// the checkpointer and returns; each step's loss allreduce carries whether every rank's part of
// the checkpoint in flight is done, and when it is, the checkpoint moves on. commitCheckpoint()
// finishes it at once, before anything that needs it: the next checkpoint, a stop, the end.
void Run::checkpoint(int64_t step) {
  const auto timer = verificationTimer();
  finishStateHash();  // the checkpoint stores the chain up to this step
  if (!s_.options.write_checkpoints) return;
  commitCheckpoint();
  const ScopedSpan span(observers_, fmt::format("checkpoint {}", step), "checkpoint",
                        StepObserver::kStepLane);
  checkpointer_.start(step, s_.state->checkpointShare(step, chain_.head()));
}

void Run::update(int64_t step, bool finite) {
  const ScopedSpan span(observers_, "update", "update", StepObserver::kStepLane);
  const double lr = s_.schedule.at(step);
  if (finite) {
    observers_.gradientsReduced();
    if (spec_.optimizer.grad_clip > 0) {
      s_.state->clipGradients(spec_.optimizer.grad_clip, s_.coll);
      observers_.gradientsClipped();
    }
    setLearningRate(s_.state->optimizer(), lr);
    s_.state->step(s_.coll);
  } else {
    ++result_.skipped_steps;
    progress_.message(fmt::format(
        "step {}: gradient is not finite on some micro-batch; update skipped", step + 1));
  }
  observers_.updated(step + 1);
}

// Rank 0 decides (runtime/volunteer_coordinator.h) while the step's losses are gathered and
// tells every rank in the same reduction (slots m+2..), so the share costs no collective of its
// own; a step uses the share decided at the end of the step before it (none at a run's first
// step). Validation keeps pp = tp = 1 with volunteers, so the data-parallel group is the world
// and its rank 0 runs the coordinator.
void Run::planVolunteerUnits(std::vector<double>& slots) {
  if (!offering_) return;
  const auto& ranges = s_.placement.micro_batches;
  if (volunteers_) {
    std::vector<int64_t> sizes;
    for (const auto& [first, end] : ranges) sizes.push_back(end - first);
    // A planted fault or a trace observes micro-batches computed by the ranks.
    const int64_t n =
        volunteers_->planStep(m_, static_cast<int>(ranges.size()), !fault_ && !trace_);
    const auto given = unitsGivenUp(sizes, n);
    for (size_t r = 0; r < given.size(); ++r)
      slots[static_cast<size_t>(m_) + 2 + r] = static_cast<double>(given[r]);
  }
}

// Rank 0 with volunteers: its micro-batches and those the ranks gave up go through the
// coordinator, which hands the given-up ones to volunteers and computes the rest here — each
// one's gradient kept as its contribution, whoever computed it.
std::vector<std::optional<double>> Run::runWithVolunteers(int64_t step, int64_t kept_end,
                                                          std::vector<int64_t>& units) {
  UnitWork work;
  work.step = step;
  const auto& ranges = s_.placement.micro_batches;
  for (int64_t j = mine_.first; j < kept_end; ++j) work.units.push_back(j);
  for (size_t r = 0; r < ranges.size(); ++r) {
    for (int64_t j = ranges[r].second - given_up_[r]; j < ranges[r].second; ++j)
      work.offered.push_back(j);
  }
  work.units.insert(work.units.end(), work.offered.begin(), work.offered.end());
  gradient_.setUnits(work.units);
  work.chain = chain_.head();
  const double slowdown = spec_.runtime.devices_file.empty()
                              ? 1.0
                              : s_.placement.plan.devices.at(static_cast<size_t>(rank_)).slowdown;
  LossFunction loss = s_.lossFunction();
  work.compute = [&, slowdown](int64_t j) {
    const auto batch = s_.data.train->batch(plan_.microBatch(step, j));
    const auto start = Clock::now();
    const auto l = computeMicroBatch(s_.state->model(), batch, spec_.seed, step, j, loss,
                                     observers_, spec_.runtime.recompute);
    emulateSlowdown(slowdown, start, [this] { volunteers_->progress(); });
    return l.item<double>();
  };
  work.keepComputed = [&](int64_t j) { gradient_.keep(j, all_owned_); };
  work.keepReceived = [&](int64_t j, std::vector<torch::Tensor> grads) {
    gradient_.keepTensors(j, std::move(grads));
  };
  volunteers_->beginStep(work);
  units = work.units;
  std::vector<std::optional<double>> losses;
  for (double l : volunteers_->runStep()) losses.emplace_back(l);
  return losses;
}

bool Run::runStep(int64_t step, const StopSignal& stop) {
  const auto ts = Clock::now();
  // Slots 0..m-1: each micro-batch's loss; slot m: ranks that were asked to stop; slot m+1:
  // ranks still writing their part of the checkpoint in flight; with volunteers, slots m+2..:
  // the micro-batches each rank gives up to them next step.
  std::vector<double> slots(static_cast<size_t>(m_) + 2 + (offering_ ? given_up_.size() : 0), 0.0);
  slots[static_cast<size_t>(m_)] = stop.requested() ? 1.0 : 0.0;
  slots[static_cast<size_t>(m_) + 1] = checkpointer_.localReady() ? 0.0 : 1.0;
  observers_.stepBegin(step);
  // 1-2. This replica's micro-batches; each one's gradient kept as its contribution (streamed to
  // the exact sum at once, but for the last, when the whole model is here).
  // With volunteers, each rank gives up the end of its range and rank 0 answers for those.
  const bool streaming = s_.groups.pp == nullptr;
  const int64_t offered = std::accumulate(given_up_.begin(), given_up_.end(), int64_t{0});
  const int64_t kept_end = mine_.second - given_up_.at(static_cast<size_t>(s_.groups.coord.dp));
  std::vector<int64_t> units;  // the micro-batches computed or answered for here, loss order
  std::vector<std::optional<double>> losses;
  bool streamed = streaming;
  if (volunteers_ && offered > 0) {
    losses = runWithVolunteers(step, kept_end, units);
    streamed = false;  // units finish out of order
  } else {
    StepWork work;
    work.step = step;
    work.first = mine_.first;
    work.end = kept_end;
    for (int64_t j = work.first; j < work.end; ++j) units.push_back(j);
    if (offering_) gradient_.setUnits(units);
    work.batch = [&](int64_t j) { return s_.data.train->batch(plan_.microBatch(step, j)); };
    work.after_backward = [&](int64_t j, int chunk) {
      gradient_.keep(j, streaming ? all_owned_ : chunk_owned_.at(static_cast<size_t>(chunk)));
      if (streaming && j + 1 < work.end) gradient_.stream(j);
    };
    losses = s_.executor->runStep(work, observers_, s_.coll);
  }
  for (size_t k = 0; k < losses.size(); ++k) {
    if (losses[k] && s_.groups.coord.tp == 0) slots[static_cast<size_t>(units.at(k))] = *losses[k];
  }
  // 3. The exact mean gradient over all M micro-batches.
  const int reduce_span = observers_.beginSpan("reduce", "reduce", StepObserver::kStepLane);
  bool finite = gradient_.reduce(m_, streamed, s_.coll);
  if (s_.groups.pp != nullptr || s_.groups.tp != nullptr) {  // every stage and shard agrees
    int32_t ok = finite ? 1 : 0;
    s_.world.allreduce(&ok, 1, DataType::kInt32, ReduceOp::kMin, s_.coll);
    finite = ok == 1;
  }
  // 5. The step's loss, exact across placements; the stop and checkpoint flags ride along.
  planVolunteerUnits(slots);
  slots = gatherSlots(s_.world, std::move(slots), s_.coll);
  if (offering_) {
    for (size_t r = 0; r < given_up_.size(); ++r)
      given_up_[r] = static_cast<int64_t>(slots[static_cast<size_t>(m_) + 2 + r]);
  }
  {
    const auto timer = verificationTimer();
    checkpointer_.poll(slots[static_cast<size_t>(m_) + 1] == 0);
  }
  double loss_sum = 0;
  for (int64_t j = 0; j < m_; ++j) loss_sum += slots[static_cast<size_t>(j)];
  const double step_loss = loss_sum / static_cast<double>(m_);
  observers_.endSpan(reduce_span);
  // The previous step's hash and a checkpoint's snapshot must be taken before parameters change.
  finishStateHash();
  {
    const auto timer = verificationTimer();
    checkpointer_.waitForSnapshot();
  }
  // 4. Clip and update.
  update(step, finite);
  const double dt = secondsSince(ts);
  const double lr = s_.schedule.at(step);
  result_.final_train_loss = step_loss;
  nlohmann::json record = {{"step", step + 1}, {"loss", step_loss},
                           {"lr", lr},         {"step_time_s", dt},
                           {"finite", finite}, {"samples_per_s", spec_.train.global_batch / dt}};
  if (volunteers_) {
    const auto c = volunteers_->counts();
    record["volunteers"] = {{"connected", c.connected}, {"units", c.units},
                            {"audited", c.audited},     {"late", c.late},
                            {"banned", c.banned},       {"rejected", c.rejected}};
    progress_.setSuffix(c.line());
  }
  progress_.step(step, step_loss, lr, spec_.train.global_batch / dt);
  if (s_.options.state_hashes) {
    const auto timer = verificationTimer();
    pending_record_ = std::move(record);
    chain_.begin();
  } else {
    metrics_.write("step", std::move(record));
  }
  return slots[static_cast<size_t>(m_)] > 0;
}

void Run::finish() {
  finishStateHash();
  commitCheckpoint();  // a periodic checkpoint begun in the loop is part of the loop's time
  result_.loop_seconds = secondsSince(t0_);
  if (checkpointer_.lastCommitted() != s_.total_steps) {
    checkpoint(s_.total_steps);
    commitCheckpoint();
  }
  if (volunteers_) volunteers_->finish();
  progress_.finish();
  result_.wall_seconds = secondsSince(t0_);
  result_.samples = result_.steps * spec_.train.global_batch;
  result_.samples_per_second = static_cast<double>(result_.samples) / result_.loop_seconds;
  result_.final_eval = evaluate(s_.total_steps, *s_.data.eval, s_.state->model(), *s_.executor,
                                s_.groups, s_.placement.mesh(), s_.coll);
  metrics_.write("eval", {{"step", s_.total_steps},
                          {"loss", result_.final_eval.loss},
                          {"accuracy", result_.final_eval.accuracy}});
  result_.state_file = s_.run_dir + "/final_state.bin";
  result_.parameter_hash = s_.state->writeFinalState(result_.state_file, s_.coll);
  result_.optimizer_state_bytes = s_.state->optimizerStateBytes();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  result_.peak_rss_bytes = static_cast<int64_t>(usage.ru_maxrss) * 1024;
  result_.memory_estimate_bytes =
      estimateRankMemory(spec_, s_.state->model().costs(), s_.placement.plan).total();
  metrics_.write("memory", {{"optimizer_state_bytes", result_.optimizer_state_bytes},
                            {"peak_rss_bytes", result_.peak_rss_bytes},
                            {"estimate_bytes", result_.memory_estimate_bytes}});
  metrics_.write("summary", {{"steps", result_.steps},
                             {"wall_s", result_.wall_seconds},
                             {"samples_per_s", result_.samples_per_second},
                             {"train_loss", result_.final_train_loss},
                             {"eval_loss", result_.final_eval.loss},
                             {"eval_accuracy", result_.final_eval.accuracy},
                             {"parameter_hash", result_.parameter_hash},
                             {"checkpoint_root", result_.checkpoint_root}});
}

TrainResult Run::go() {
  announce();
  const int64_t start = startState();
  result_.start_step = start;
  result_.run_dir = s_.run_dir;
  result_.unigram_entropy_nats = s_.data.unigram_entropy_nats;
  result_.num_parameters = s_.state->model().numParameters();
  const int64_t every = spec_.checkpoint.every;
  // The seed's state is checkpoint 0: the point every party agrees on before any work.
  if (every > 0 && start == 0) checkpoint(0);
  t0_ = Clock::now();
  result_.verification_seconds = 0;  // the loop's only
  s_.state->model().train();
  const StopSignal stop;  // SIGTERM/SIGINT/SIGUSR1: finish the step, checkpoint, stop
  for (int64_t step = start; step < s_.total_steps; ++step) {
    const bool stop_requested = runStep(step, stop);
    const bool last = step + 1 == s_.total_steps;
    if (spec_.train.eval_every > 0 && (step + 1) % spec_.train.eval_every == 0 && !last) {
      finishStateHash();  // keeps the metrics file in step order
      const auto e = evaluate(step + 1, *s_.data.eval, s_.state->model(), *s_.executor, s_.groups,
                              s_.placement.mesh(), s_.coll);
      progress_.message(fmt::format("eval @ step {}: loss {:.4f} accuracy {:.2f}%", step + 1,
                                    e.loss, 100.0 * e.accuracy));
      metrics_.write("eval", {{"step", step + 1}, {"loss", e.loss}, {"accuracy", e.accuracy}});
    }
    // (The last step's checkpoint is the run's final one, written after the loop.)
    if (every > 0 && (step + 1) % every == 0 && !last) checkpoint(step + 1);
    if (stop_requested && !last) {
      finishStateHash();
      commitCheckpoint();
      if (checkpointer_.lastCommitted() != step + 1) {
        checkpoint(step + 1);
        commitCheckpoint();
      }
      progress_.finish();
      progress_.message(fmt::format(
          "mlcp: stopped after step {} on {}; checkpoint written, `mlcp run --resume` continues",
          step + 1, stop.name()));
      result_.stopped_at_step = step + 1;
      return result_;
    }
  }
  result_.steps = s_.total_steps - start;
  finish();
  return result_;
}

}  // namespace

TrainResult Trainer::run() {
  Run run(*s_);
  return run.go();
}

}  // namespace mlcp::runtime
