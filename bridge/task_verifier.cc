#include "bridge/task_verifier.h"

#include <fmt/format.h>

#include <filesystem>

#include "base/durable_file.h"
#include "base/error.h"
#include "bridge/abi.h"
#include "bridge/keccak.h"
#include "bridge/market_randomness.h"

namespace mlcp::bridge {
namespace {

using json = nlohmann::json;

bool ended(JobState s) {
  return s == JobState::kSettled || s == JobState::kSolverFailed || s == JobState::kCancelled ||
         s == JobState::kVoided;
}

json toJson(const VerifierTaskState& s) {
  json roots = json::array(), sample = json::array();
  for (const Hash32& r : s.roots) roots.push_back(toHex(r));
  for (uint64_t k : s.sample) sample.push_back(k);
  return {{"task", s.task.toDecimal()},
          {"secret", toHex(s.secret)},
          {"slot", s.slot},
          {"sample", sample},
          {"roots", roots},
          {"replayed", s.replayed},
          {"flags_final", s.flags_final},
          {"flags", s.flags},
          {"challenged", s.challenged},
          {"challenged_checkpoint", s.challenged_checkpoint},
          {"skipped", s.skipped},
          {"note", s.note}};
}

VerifierTaskState fromJson(const json& j, const std::string& path) {
  VerifierTaskState s;
  try {
    s.task = U256::parse(j.at("task").get<std::string>(), "task");
    s.secret = fixedFromHex<32>(j.at("secret").get<std::string>(), "secret");
    s.slot = j.at("slot").get<int64_t>();
    for (const json& k : j.at("sample")) s.sample.push_back(k.get<uint64_t>());
    for (const json& r : j.at("roots"))
      s.roots.push_back(fixedFromHex<32>(r.get<std::string>(), "root"));
    s.replayed = j.at("replayed").get<uint32_t>();
    s.flags_final = j.at("flags_final").get<bool>();
    s.flags = j.at("flags").get<uint8_t>();
    s.challenged = j.at("challenged").get<bool>();
    s.challenged_checkpoint = j.at("challenged_checkpoint").get<uint64_t>();
    s.skipped = j.at("skipped").get<bool>();
    s.note = j.at("note").get<std::string>();
  } catch (const std::exception& e) {
    throw UsageError(fmt::format("{} is not a verifier task state file: {}", path, e.what()));
  }
  return s;
}

}  // namespace

VerifierTask::VerifierTask(MarketClient& market, CheckersClient& checkers, EthKey key, U256 task,
                           std::string state_path, VerifierHooks hooks, VerifierOptions options)
    : market_(market),
      checkers_(checkers),
      key_(std::move(key)),
      task_(task),
      path_(std::move(state_path)),
      hooks_(std::move(hooks)),
      options_(options) {
  state_.task = task_;
  if (std::filesystem::exists(path_)) {
    std::string text;
    for (const std::string& line : readPrivateFileLines(path_, "mlcp verifier watch")) text += line;
    state_ = fromJson(json::parse(text, nullptr, false), path_);
    if (state_.task != task_) {
      throw UsageError(fmt::format("{} is the state of task {}, not {}", path_,
                                   state_.task.toDecimal(), task_.toDecimal()));
    }
  }
}

void VerifierTask::save() const {
  writeFileAtomic(path_, toJson(state_).dump() + "\n", 0600, true, "verifier task state");
}

void VerifierTask::log(const std::string& line) const {
  if (hooks_.log) hooks_.log(fmt::format("task {}: {}", task_.toDecimal(), line));
}

VerifierTask::Progress VerifierTask::advance() {
  if (state_.skipped) return Progress::kDone;
  JobsClient& jobs = market_.jobs();
  const JobInfo job = jobs.job(task_);
  const TaskPhases phases = market_.phases(task_);
  const uint64_t now = market_.chain().latestTimestamp();
  // 1.
  if (state_.slot < 0) {
    const TaskChecks tc = checkers_.taskChecks(task_);
    const int64_t held = checkers_.slotOf(task_, key_.address());
    if (held >= 0 && state_.secret != Hash32{} && holdsSecret(static_cast<uint64_t>(held))) {
      state_.slot = held;  // registered by an earlier attempt whose answer was lost
      save();
      log(fmt::format("found its registration in slot {} on chain (its answer was lost)", held));
    } else if (held >= 0) {
      state_.skipped = true;
      state_.note =
          fmt::format("this account holds slot {} but {} has not its secret", held, path_);
      save();
      log("skipped: " + state_.note);
      return Progress::kDone;
    } else {
      std::string why;
      if (ended(job.state)) why = fmt::format("the task ended ({})", toString(job.state));
      if (job.state == JobState::kCommitted && phases.committed() && now >= phases.t1)
        why = "its verdict window closed before this verifier registered";
      if (tc.verifiers >= tc.max_verifiers)
        why = fmt::format("all {} slots are taken", tc.max_verifiers);
      if (!why.empty()) {
        state_.skipped = true;
        state_.note = why;
        save();
        log("not verified: " + why);
        return Progress::kDone;
      }
      if (job.state != JobState::kAccepted && job.state != JobState::kCommitted) {
        return Progress::kWaiting;
      }
      if (state_.secret == Hash32{}) {
        state_.secret = randomSecret();
        save();  // before the commitment leaves this process
      }
      Receipt r;
      const uint64_t slot = checkers_.registerVerifier(
          key_, task_, sampleCommitment(task_, key_.address(), state_.secret), &r);
      state_.slot = static_cast<int64_t>(slot);
      save();
      log(fmt::format("registered in slot {} with a deposit of {} wei (block {}, gas {})", slot,
                      tc.verifier_deposit.toDecimal(), r.block_number, r.gas_used));
      const uint64_t m = std::min(tc.samples_per_verifier, tc.n);
      std::string odds;
      for (uint64_t k = 1; k <= tc.n && k <= 4; ++k) {
        odds += fmt::format("{}{} of {}: {:.3f} (all {} slots: {:.3f})", k == 1 ? "" : "; ", k,
                            tc.n, catchProbability(tc.n, k, m, 1), tc.max_verifiers,
                            catchProbability(tc.n, k, m, tc.max_verifiers));
      }
      log(fmt::format(
          "samples {} of {} checkpoints; probability of catching a solver that corrupts k of "
          "{} intervals — {}",
          m, tc.n, tc.n, odds));
      return Progress::kActed;
    }
  }
  const uint64_t slot = static_cast<uint64_t>(state_.slot);
  const VerifierSlot v = checkers_.verifier(task_, slot);
  // 2.
  if (v.status == VerifierStatus::kRegistered) {
    if (ended(job.state)) return withdrawAll();
    if (market_.chain().blockNumber() < v.registered_block + 2) return Progress::kWaiting;
    try {
      checkers_.anchorSample(key_, task_, slot);
    } catch (const RevertError& e) {
      if (e.errorName() != "WrongVerifierStatus") throw;  // anchored by someone else meanwhile
    }
    log("sample anchored");
    return Progress::kActed;
  }
  if (state_.sample.empty() && v.status >= VerifierStatus::kAnchored) {
    const std::optional<Hash32> anchor = market_.chain().blockHash(v.registered_block + 1);
    if (!anchor) throw ChainError("the block after this verifier's registration is missing");
    const TaskChecks tc = checkers_.taskChecks(task_);
    state_.sample = sampleOf(sampleSeed(state_.secret, *anchor), tc.n, tc.samples_per_verifier);
    state_.roots.assign(state_.sample.size(), Hash32{});
    save();
    std::string ks;
    for (uint64_t k : state_.sample) ks += (ks.empty() ? "" : ", ") + std::to_string(k);
    log(fmt::format("sample: checkpoint {} (secret until the reveal)", ks));
  }
  // 3, 4.
  if (v.status == VerifierStatus::kAnchored) {
    if (ended(job.state)) return withdrawAll();
    return replayAndCommit(job, phases, now);
  }
  // 5.
  if (v.status == VerifierStatus::kCommitted) {
    if (ended(job.state)) return withdrawAll();
    if (job.state != JobState::kCommitted || now <= phases.t1) return Progress::kWaiting;
    if (now >= phases.t2) {
      if (now > phases.t2) log("missed the verdict reveal window; the deposit is lost");
      return Progress::kWaiting;
    }
    const std::optional<Hash32> anchor = market_.chain().blockHash(v.registered_block + 1);
    Receipt r = checkers_.revealVerdicts(key_, task_, slot, state_.secret, *anchor, state_.flags);
    log(fmt::format("verdicts revealed: flags {:#x} (gas {})", state_.flags, r.gas_used));
    return Progress::kActed;
  }
  // 6-8.
  return afterReveal(job, market_.task(task_), phases, now);
}

bool VerifierTask::holdsSecret(uint64_t slot) {
  const VerifierSlot v = checkers_.verifier(task_, slot);
  const Hash32 c = sampleCommitment(task_, key_.address(), state_.secret);
  if (v.transcript == c) return true;
  const std::optional<Hash32> anchor = market_.chain().blockHash(v.registered_block + 1);
  return anchor &&
         v.transcript ==
             keccak256(abi::encode({abi::Type::parse("bytes32"), abi::Type::parse("bytes32")},
                                   {abi::Value::fixedBytes(c), abi::Value::fixedBytes(*anchor)}));
}

VerifierTask::Progress VerifierTask::replayAndCommit(const JobInfo& job, const TaskPhases& phases,
                                                     uint64_t now) {
  if (job.state == JobState::kAccepted) return Progress::kWaiting;  // roots still coming
  if (job.state != JobState::kCommitted && job.state != JobState::kDisputed)
    return Progress::kWaiting;
  if (phases.committed() && now >= phases.t1) {
    log("the verdict window closed before the verdicts were committed; the deposit is lost");
    return Progress::kWaiting;
  }
  if (!state_.flags_final) {
    const SampleProof proof{task_, static_cast<uint64_t>(state_.slot), key_.address(),
                            state_.secret};
    uint8_t flags = 0;
    for (size_t i = 0; i < state_.sample.size(); ++i) {
      const uint64_t k = state_.sample[i];
      if (options_.replay && i >= state_.replayed) {
        const std::optional<Hash32> mine = hooks_.replay(task_, k, proof);
        if (!mine) return Progress::kWaiting;  // the input state is not served yet
        state_.roots[i] = *mine;
        state_.replayed = static_cast<uint32_t>(i + 1);
        save();
      }
      const Hash32 committed = market_.jobs().root(task_, k);
      const bool wrong = options_.replay && state_.roots[i] != committed;
      if (wrong) flags |= static_cast<uint8_t>(1u << i);
      log(fmt::format("checkpoint {}: {}", k,
                      !options_.replay ? "approved without replaying"
                      : wrong ? fmt::format("replayed root {} differs from the committed {}",
                                            toHex(state_.roots[i]), toHex(committed))
                              : fmt::format("replayed root {} matches", toHex(committed))));
    }
    state_.flags = flags;
    state_.flags_final = true;
    save();
  }
  Receipt r = checkers_.commitVerdicts(key_, task_, static_cast<uint64_t>(state_.slot),
                                       verdictsCommitment(state_.flags, state_.secret));
  log(fmt::format("verdicts committed (gas {})", r.gas_used));
  return Progress::kActed;
}

VerifierTask::Progress VerifierTask::afterReveal(const JobInfo& job, const TaskInfo& task,
                                                 const TaskPhases& phases, uint64_t now) {
  JobsClient& jobs = market_.jobs();
  // 7.
  if (job.state == JobState::kDisputed) {
    const DisputeInfo d = jobs.dispute(task_);
    if (d.challenger != key_.address()) return Progress::kWaiting;  // someone else's dispute
    if (d.phase == DisputePhase::kVerdict) {
      const U256 dispute = jobs.disputeId(task_);
      Verdict want;
      want.chain_id = market_.chain().chainId();
      want.contract = market_.address();
      want.job_id = task_;
      want.dispute_id = dispute;
      const GroupInfo g = market_.group(task.group);
      const uint32_t k = g.committee == 0 ? 1 : market_.committee(g.committee).threshold;
      const std::vector<SignedVerdict> posted = hooks_.verdicts(task_, dispute);
      for (bool solver_correct : {false, true}) {
        want.solver_correct = solver_correct;
        const std::vector<Signature> sigs = signaturesFor(want, posted);
        if (sigs.size() < k) continue;
        Receipt r = jobs.resolveSigned(key_, task_, solver_correct, sigs);
        log(
            fmt::format("relayed the committee's verdict ({} of {} signatures): the {} is right "
                        "(gas {})",
                        sigs.size(), k, solver_correct ? "solver" : "challenger", r.gas_used));
        return Progress::kActed;
      }
      return Progress::kWaiting;
    }
    DisputePlayer player(jobs, key_, task_, DisputeRole::kChallenger,
                         hooks_.dispute_hashes(task_, d.checkpoint));
    const std::string move = player.move();
    if (move.empty()) return Progress::kWaiting;
    log("challenger: " + move);
    return Progress::kActed;
  }
  // 8.
  if (ended(job.state)) return withdrawAll();
  // 6.
  if (job.state != JobState::kCommitted || state_.challenged || !state_.flags_final) {
    return Progress::kWaiting;
  }
  if (task.seedRequired() ? !task.seedRevealed() : now <= phases.t2) return Progress::kWaiting;
  if (now >= job.window_end) return Progress::kWaiting;  // settles
  for (size_t i = 0; i < state_.sample.size(); ++i) {
    const uint64_t k = state_.sample[i];
    if (((state_.flags >> i) & 1u) == 0 || k == task.forced_checkpoint) continue;
    Receipt r = jobs.challenge(key_, task_, k, state_.roots[i]);
    state_.challenged = true;  // once per task, whatever the verdict
    state_.challenged_checkpoint = k;
    save();
    log(fmt::format("challenged checkpoint {} with root {} (bond {} wei, gas {})", k,
                    toHex(state_.roots[i]), job.bond.toDecimal(), r.gas_used));
    return Progress::kActed;
  }
  return Progress::kWaiting;
}

VerifierTask::Progress VerifierTask::withdrawAll() {
  bool acted = false;
  const U256 from_checkers = checkers_.owed(key_.address());
  if (!from_checkers.isZero()) {
    Receipt r = checkers_.withdraw(key_);
    log(fmt::format("withdrew {} wei from MlcpCheckers (gas {})", from_checkers.toDecimal(),
                    r.gas_used));
    acted = true;
  }
  const U256 from_market = market_.jobs().owed(key_.address());
  if (!from_market.isZero()) {
    Receipt r = market_.jobs().withdraw(key_);
    log(fmt::format("withdrew {} wei from MlcpMarket (gas {})", from_market.toDecimal(),
                    r.gas_used));
    acted = true;
  }
  if (acted) return Progress::kActed;
  log(fmt::format("done: the task ended ({})", toString(market_.jobs().job(task_).state)));
  return Progress::kDone;
}

}  // namespace mlcp::bridge
