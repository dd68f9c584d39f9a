#include "bridge/task_solver.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/durable_file.h"
#include "base/error.h"
#include "bridge/abi.h"
#include "bridge/keccak.h"
#include "bridge/market_randomness.h"

namespace mlcp::bridge {
namespace {

using json = nlohmann::json;

json toJson(const SolverTaskState& s) {
  return {{"chain_id", s.chain_id},
          {"market", checksumAddress(s.market)},
          {"solver", checksumAddress(s.solver)},
          {"task", s.task.toDecimal()},
          {"task_index", s.task_index},
          {"checkpoints", s.checkpoints},
          {"steps_per_checkpoint", s.steps_per_checkpoint},
          {"seed", toHex(s.seed)},
          {"anchored", s.anchored},
          {"anchor", toHex(s.anchor)},
          {"forced_checkpoint", s.forced_checkpoint},
          {"true_root", toHex(s.true_root)},
          {"has_true_root", s.has_true_root}};
}

SolverTaskState fromJson(const json& j, const std::string& path) {
  SolverTaskState s;
  try {
    s.chain_id = j.at("chain_id").get<uint64_t>();
    s.market = parseAddress(j.at("market").get<std::string>(), "market");
    s.solver = parseAddress(j.at("solver").get<std::string>(), "solver");
    s.task = U256::parse(j.at("task").get<std::string>(), "task");
    s.task_index = j.at("task_index").get<uint32_t>();
    s.checkpoints = j.at("checkpoints").get<uint32_t>();
    s.steps_per_checkpoint = j.at("steps_per_checkpoint").get<uint32_t>();
    s.seed = fixedFromHex<32>(j.at("seed").get<std::string>(), "seed");
    s.anchored = j.at("anchored").get<bool>();
    s.anchor = fixedFromHex<32>(j.at("anchor").get<std::string>(), "anchor");
    s.forced_checkpoint = j.at("forced_checkpoint").get<uint64_t>();
    s.true_root = fixedFromHex<32>(j.at("true_root").get<std::string>(), "true_root");
    s.has_true_root = j.at("has_true_root").get<bool>();
  } catch (const std::exception& e) {
    throw UsageError(fmt::format("{} is not a solver task state file: {}", path, e.what()));
  }
  return s;
}

void saveState(const SolverTaskState& s, const std::string& path) {
  // One line of JSON: the seed is a secret, so the file is private like a key file.
  writeFileAtomic(path, toJson(s).dump() + "\n", 0600, true, "solver task state");
}

}  // namespace

std::optional<SolverTaskState> loadSolverTaskState(const std::string& path) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  std::string text;
  for (const std::string& line : readPrivateFileLines(path, "mlcp bridge task accept")) {
    text += line;
  }
  return fromJson(json::parse(text, nullptr, false), path);
}

Hash32 rootToCommit(SolverTaskState& state, const std::string& path, uint64_t k,
                    const Hash32& true_root) {
  if (state.seed != Hash32{} && !state.anchored) {
    throw UsageError(fmt::format(
        "task {}: the seed is not anchored yet, so the forced checkpoint is unknown (run `mlcp "
        "bridge task accept`, which anchors it, with the node reachable)",
        state.task.toDecimal()));
  }
  if (k != state.forced_checkpoint || k == 0) return true_root;
  if (!state.has_true_root || state.true_root != true_root) {
    state.true_root = true_root;
    state.has_true_root = true;
    saveState(state, path);  // before the forced root is published: the reveal needs the true one
  }
  return forcedRoot(state.chain_id, state.market, state.task, k, true_root, state.seed);
}

std::string solverStatePath(const std::string& key_file, const Address& market, const U256& task) {
  return fmt::format("{}.tasks/{}-task-{}.json", key_file, toHex(market), task.toDecimal());
}

SolverTask::SolverTask(MarketClient& market, EthKey solver, U256 task, std::string state_path)
    : market_(market), key_(std::move(solver)), task_(task), path_(std::move(state_path)) {
  state_.chain_id = market_.chain().chainId();
  state_.market = market_.address();
  state_.solver = key_.address();
  state_.task = task_;
  if (const std::optional<SolverTaskState> loaded = loadSolverTaskState(path_)) {
    const SolverTaskState& s = *loaded;
    if (s.market != state_.market || s.task != task_ || s.solver != state_.solver ||
        s.chain_id != state_.chain_id) {
      throw UsageError(fmt::format(
          "{} holds the seed of task {} on market {} for {}, not of task {} on {} for {}", path_,
          s.task.toDecimal(), checksumAddress(s.market), checksumAddress(s.solver),
          task_.toDecimal(), checksumAddress(state_.market), checksumAddress(state_.solver)));
    }
    state_ = s;
  }
}

void SolverTask::save() const { saveState(state_, path_); }

Receipt SolverTask::accept() {
  const TaskInfo t = market_.task(task_);
  if (!t.isMarketTask()) {
    throw UsageError(fmt::format("task {} is not a task of market {}", task_.toDecimal(),
                                 checksumAddress(market_.address())));
  }
  const JobInfo job = market_.jobs().job(task_);
  state_.task_index = t.index;
  state_.checkpoints = job.num_checkpoints;
  state_.steps_per_checkpoint = job.steps_per_checkpoint;
  Hash32 commitment{};
  if (t.seedRequired()) {
    // The seed is saved before the commitment leaves this process: a crash after the send must
    // not lose the only thing that can reveal it.
    if (state_.seed == Hash32{}) {
      state_.seed = randomSecret();
      save();
    }
    commitment = seedCommitment(task_, key_.address(), state_.seed);
  } else {
    save();
  }
  return market_.acceptTask(key_, task_, commitment);
}

uint64_t SolverTask::anchor(double timeout_s) {
  if (state_.anchored) return state_.forced_checkpoint;
  ChainClient& chain = market_.chain();
  TaskInfo t = market_.task(task_);
  if (!t.seedRequired()) {
    state_.anchored = true;
    save();
    return 0;
  }
  if (t.accept_block == 0) {
    throw UsageError(fmt::format("task {} has not been accepted yet", task_.toDecimal()));
  }
  // The anchor is the hash of block b+1, fixable from block b+2 on: wait for it (polling the
  // chain's height against a deadline; the chain makes blocks, nothing here can).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!t.seedAnchored() && chain.blockNumber() < t.accept_block + 1) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw TimeoutError(
          fmt::format("block {} (the one after task {}'s acceptance) was not mined within {:.0f} s",
                      t.accept_block + 1, task_.toDecimal(), timeout_s));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling interval
    t = market_.task(task_);
  }
  if (!t.seedAnchored()) {
    try {
      market_.anchorSeed(key_, task_);
    } catch (const RevertError& e) {
      if (e.errorName() != "AlreadyAnchored") throw;  // someone else anchored it meanwhile
    }
  }
  const std::optional<Hash32> a = market_.seedAnchor(task_);
  if (!a)
    throw ChainError(
        fmt::format("task {} is anchored but has no SeedAnchored log", task_.toDecimal()));
  state_.anchor = *a;
  const GroupInfo g = market_.group(t.group);
  const JobInfo job = market_.jobs().job(task_);
  state_.forced_checkpoint =
      forcedCheckpointOf(state_.seed, state_.anchor, g.forced_rate_bps, job.num_checkpoints);
  state_.anchored = true;
  save();
  return state_.forced_checkpoint;
}

Hash32 SolverTask::rootToCommit(uint64_t k, const Hash32& true_root) {
  return bridge::rootToCommit(state_, path_, k, true_root);
}

std::optional<Receipt> SolverTask::revealIfDue() {
  const TaskInfo t = market_.task(task_);
  if (!t.seedRequired() || t.seedRevealed()) return std::nullopt;
  const TaskPhases p = market_.phases(task_);
  if (p.state != JobState::kCommitted || !p.committed()) return std::nullopt;
  const uint64_t now = market_.chain().latestTimestamp();
  if (now <= p.t2 || now >= p.t3) return std::nullopt;  // the next block must fall in (T2, T3]
  if (!state_.anchored) anchor(0);
  if (state_.forced_checkpoint != 0 && !state_.has_true_root) {
    throw UsageError(fmt::format(
        "task {}: checkpoint {} was forced but {} holds no true root for it (was it committed "
        "by `mlcp run` with this key file?)",
        task_.toDecimal(), state_.forced_checkpoint, path_));
  }
  return market_.revealSeed(key_, task_, state_.seed, state_.anchor, state_.true_root);
}

std::vector<uint64_t> SolverTask::provenSample(uint64_t slot, const Address& verifier,
                                               const Hash32& secret) {
  const Address checkers = market_.checkersAddress();
  CheckersClient c(market_.chain(), checkers);
  const VerifierSlot v = c.verifier(task_, slot);
  if (v.account != verifier) {
    throw VerificationError(fmt::format("slot {} of task {} is not held by {}", slot,
                                        task_.toDecimal(), checksumAddress(verifier)));
  }
  if (v.status < VerifierStatus::kAnchored) {
    throw VerificationError(fmt::format("the sample of slot {} of task {} is not anchored yet",
                                        slot, task_.toDecimal()));
  }
  const std::optional<Hash32> anchor = market_.chain().blockHash(v.registered_block + 1);
  if (!anchor) throw ChainError("the block after a verifier's registration is missing");
  // After the anchor the transcript is keccak(commitment, anchor), and later hashes that with
  // the verdicts commitment; either way it starts from what the secret must give.
  const Hash32 sampled = sampleCommitment(task_, verifier, secret);
  const Hash32 anchored =
      keccak256(abi::encode({abi::Type::parse("bytes32"), abi::Type::parse("bytes32")},
                            {abi::Value::fixedBytes(sampled), abi::Value::fixedBytes(*anchor)}));
  bool matches = v.transcript == anchored;
  if (!matches && v.status == VerifierStatus::kRevealed) {
    matches = v.transcript == sampleSeed(secret, *anchor);
  }
  if (!matches && v.status == VerifierStatus::kCommitted) {
    // keccak(anchored, verdictsCommitment): the flags are unknown here, but only 2^m are possible.
    const TaskChecks tc = c.taskChecks(task_);
    for (uint32_t flags = 0; flags < (1u << tc.samples_per_verifier) && !matches; ++flags) {
      matches =
          v.transcript ==
          keccak256(abi::encode(
              {abi::Type::parse("bytes32"), abi::Type::parse("bytes32")},
              {abi::Value::fixedBytes(anchored),
               abi::Value::fixedBytes(verdictsCommitment(static_cast<uint8_t>(flags), secret))}));
    }
  }
  if (!matches) {
    throw VerificationError(
        fmt::format("the secret shown for slot {} of task {} does not match its sample commitment",
                    slot, task_.toDecimal()));
  }
  const TaskChecks tc = c.taskChecks(task_);
  return sampleOf(sampleSeed(secret, *anchor), tc.n, tc.samples_per_verifier);
}

bool SolverTask::statesPublic() {
  const TaskInfo t = market_.task(task_);
  if (t.seedRequired()) return t.seedRevealed();
  const TaskPhases p = market_.phases(task_);
  return p.committed() && market_.chain().latestTimestamp() > p.t1;
}

}  // namespace mlcp::bridge
