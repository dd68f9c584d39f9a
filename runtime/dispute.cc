#include "runtime/dispute.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "base/error.h"
#include "jobs/job_spec.h"
#include "runtime/metrics.h"
#include "runtime/referee.h"
#include "runtime/trainer.h"
#include "verify/bisection.h"
#include "verify/checkpoint.h"

namespace mlcp::runtime {
namespace {

using verify::Hash256;

void writeClaims(const std::string& path, const DisputeOutcome& o) {
  std::ofstream out(path, std::ios::trunc);
  int round = 0;
  for (const auto& r : o.rounds) {
    ++round;
    for (const auto& [party, hash] : {std::pair{"A", r.claim_a}, std::pair{"B", r.claim_b}}) {
      nlohmann::json j = {{"type", "claim"},        {"round", round}, {"phase", r.phase},
                          {"position", r.position}, {"party", party}, {"hash", hash}};
      if (!r.label.empty()) j["operator"] = r.label;
      out << j.dump() << '\n';
    }
  }
  out << nlohmann::json{{"type", "verdict"},
                        {"step", o.step},
                        {"operator_index", o.operator_index},
                        {"operator", o.operator_name},
                        {"referee", o.referee},
                        {"wrong", o.wrong},
                        {"reason", o.reason}}
             .dump()
      << '\n';
  if (!out) throw IoError("cannot write " + path);
}

}  // namespace

Hash256 DisputeParty::chainAt(int64_t step) const {
  auto it = steps.find(step);
  if (it == steps.end() || !it->second.contains("state_chain")) {
    throw UsageError(fmt::format("{} has no state hash for step {} in {}", run_dir, step,
                                 metricsPath(run_dir, 0)));
  }
  return Hash256::fromHex(it->second.at("state_chain").get<std::string>());
}

Hash256 DisputeParty::hashAfter(int64_t step) const {
  auto it = roots.find(step);
  return it != roots.end() ? it->second : chainAt(step);
}

jobs::JobSpec DisputeParty::spec() const {
  auto spec = jobs::parseJobSpec(job_text, job_path);
  if (spec.parallel.tp > 1) {
    throw UsageError(
        fmt::format("{} is a tensor-parallel run (parallel.tp = {}): the dispute "
                    "re-executes and referees on one process, which tp > 1 runs "
                    "cannot do yet; use mlcp verify replay on {} ranks",
                    run_dir, spec.parallel.tp, spec.parallel.tp));
  }
  spec.parallel = jobs::ParallelSpec{};  // re-executed on this one process, whatever the run used
  return spec;
}

DisputeParty openDisputeParty(const std::string& name, const std::string& run_dir) {
  DisputeParty p;
  p.name = name;
  p.run_dir = run_dir;
  for (const auto& info : verify::listCheckpoints(run_dir)) {
    // Every checkpoint verified whole — signature, root and every tensor's bytes — so that a
    // root is only ever claimed for data that is there.
    auto reader = verify::CheckpointReader::open(info.dir);
    try {
      reader.verifyAll();
    } catch (const Error& e) {
      throw VerificationError(
          fmt::format("party {}'s checkpoint {} is corrupt: {}", name, info.dir, e.what()));
    }
    p.roots[info.step] = reader.root();
    p.dirs[info.step] = info.dir;
    if (p.job_text.empty()) {
      const auto& m = reader.manifest();
      p.job_text = m.job_spec_text;
      p.job_path = m.jobPath();
    }
  }
  if (p.roots.empty()) {
    throw UsageError(fmt::format("{} has no checkpoints (expected {})", run_dir,
                                 verify::checkpointsRoot(run_dir)));
  }
  p.steps = stepRecords(run_dir);
  for (const auto& f : readMetrics(run_dir, "fault")) {
    p.fault.step = f.at("step").get<int64_t>();
    p.fault.layer = f.at("layer").get<int64_t>();
    p.fault.micro_batch = f.at("micro_batch").get<int64_t>();
  }
  return p;
}

StepReexecution reexecuteStep(const DisputeParty& p, const jobs::JobSpec& spec, int64_t from,
                              int64_t step, const std::string& work_dir,
                              collectives::Communicator& self) {
  StepReexecution r;
  TrainerOptions opts;
  opts.output_dir = fmt::format("{}/reexecution-{}", work_dir, p.name);
  std::filesystem::remove_all(opts.output_dir);
  opts.start_checkpoint = p.dirs.at(from);
  opts.max_steps = step;
  opts.show_progress = false;
  opts.quiet = true;
  opts.write_checkpoints = false;
  opts.fault = p.fault;
  opts.operator_trace = &r.trace;
  opts.operator_trace_step = step;
  Trainer trainer(spec, self, opts);
  trainer.run();
  r.prefix = r.trace.prefixChain();
  for (const auto& [s, j] : stepRecords(opts.output_dir)) {
    r.chain[s] = j.value("state_chain", "");
  }
  return r;
}

nlohmann::json DisputeOutcome::toJson() const {
  nlohmann::json rs = nlohmann::json::array();
  for (const auto& r : rounds) {
    rs.push_back({{"phase", r.phase},
                  {"position", r.position},
                  {"label", r.label},
                  {"claim_a", r.claim_a},
                  {"claim_b", r.claim_b},
                  {"agree", r.agree()}});
  }
  return {{"run_a", run_a},
          {"run_b", run_b},
          {"disputed", disputed},
          {"rounds", rs},
          {"checkpoint_span", checkpoint_span},
          {"step_span", step_span},
          {"operator_count", operator_count},
          {"checkpoint_rounds", checkpoint_rounds},
          {"step_rounds", step_rounds},
          {"operator_rounds", operator_rounds},
          {"agreed_checkpoint", agreed_checkpoint},
          {"disputed_checkpoint", disputed_checkpoint},
          {"step", step},
          {"operator_index", operator_index},
          {"operator", operator_name},
          {"operator_description", operator_description},
          {"claim_a", claim_a},
          {"claim_b", claim_b},
          {"referee", referee},
          {"wrong", wrong},
          {"reason", reason}};
}

namespace {

// 1. Opens both runs; their common checkpoints, in step order. UsageError for runs that cannot
// be compared.
std::vector<int64_t> commonCheckpoints(const DisputeParty& a, const DisputeParty& b) {
  if (a.spec().canonicalText() != b.spec().canonicalText()) {
    throw UsageError(
        fmt::format("{} and {} are not runs of the same job: their checkpoints "
                    "describe different logical programs",
                    a.run_dir, b.run_dir));
  }
  std::vector<int64_t> common;
  for (const auto& [step, root] : a.roots) {
    if (b.roots.count(step)) common.push_back(step);
  }
  if (common.size() < 2 &&
      !(common.size() == 1 && a.roots.at(common[0]) == b.roots.at(common[0]))) {
    throw UsageError(fmt::format("{} and {} share fewer than two checkpoints; nothing to bisect",
                                 a.run_dir, b.run_dir));
  }
  if (a.roots.at(common.front()) != b.roots.at(common.front())) {
    throw UsageError(fmt::format(
        "{} and {} disagree already at their first common checkpoint (step {}): they did not "
        "start from the same state",
        a.run_dir, b.run_dir, common.front()));
  }
  return common;
}

// 2. Bisects the common checkpoints' roots to an adjacent pair (agreed, disputed).
void checkpointPhase(const DisputeParty& a, const DisputeParty& b,
                     const std::vector<int64_t>& common, DisputeOutcome& o) {
  const int64_t n = static_cast<int64_t>(common.size());
  const auto cp = verify::bisect(0, n - 1, [&](int64_t i) {
    const int64_t s = common[static_cast<size_t>(i)];
    return std::pair{a.roots.at(s), b.roots.at(s)};
  });
  for (const auto& r : cp.rounds) {
    o.rounds.push_back({"checkpoint", common[static_cast<size_t>(r.position)], "", r.claim_a.hex(),
                        r.claim_b.hex()});
  }
  o.checkpoint_span = n - 1;
  o.checkpoint_rounds = static_cast<int64_t>(cp.rounds.size());
  o.agreed_checkpoint = common[static_cast<size_t>(cp.agreed)];
  o.disputed_checkpoint = common[static_cast<size_t>(cp.first_difference)];
}

// 3. Bisects the recorded state chain over the disputed interval to one step.
void stepPhase(const DisputeParty& a, const DisputeParty& b, DisputeOutcome& o) {
  const int64_t k1 = o.agreed_checkpoint, k2 = o.disputed_checkpoint;
  // The state chain at the disputed checkpoint must differ too (it covers the parameters).
  if (a.chainAt(k2) == b.chainAt(k2)) {
    throw VerificationError(fmt::format(
        "the runs' checkpoints at step {} differ but their recorded parameter hashes agree: the "
        "optimizer state diverged, which the step phase cannot bisect",
        k2));
  }
  const auto st = verify::bisect(k1, k2, [&](int64_t s) {
    return std::pair{a.chainAt(s), b.chainAt(s)};
  });
  for (const auto& r : st.rounds) {
    o.rounds.push_back({"step", r.position, "", r.claim_a.hex(), r.claim_b.hex()});
  }
  o.step_span = k2 - k1;
  o.step_rounds = static_cast<int64_t>(st.rounds.size());
  o.step = st.first_difference;
}

// 4. Whether a party's re-execution contradicts the state chain it recorded at step - 1 or step.
bool contradicts(const DisputeParty& p, const StepReexecution& r, int64_t agreed, int64_t step) {
  for (int64_t s : {step - 1, step}) {
    if (s <= agreed) continue;  // the agreed checkpoint itself
    auto it = r.chain.find(s);
    if (it == r.chain.end() || it->second != p.chainAt(s).hex()) return true;
  }
  return false;
}

// 5. Bisects the two traces' operator prefix hashes to the first operator whose inputs agree
// and whose outputs differ.
void operatorPhase(const StepReexecution& ra, const StepReexecution& rb, DisputeOutcome& o) {
  const auto& ops_a = ra.trace.operators();
  const auto& ops_b = rb.trace.operators();
  if (ops_a.size() != ops_b.size()) {
    throw VerificationError(
        fmt::format("the two re-executions of step {} ran different operator "
                    "lists ({} and {} operators)",
                    o.step, ops_a.size(), ops_b.size()));
  }
  for (size_t i = 0; i < ops_a.size(); ++i) {
    if (ops_a[i].name != ops_b[i].name) {
      throw VerificationError(fmt::format("operator {} of step {} is {} in A and {} in B", i,
                                          o.step, ops_a[i].name, ops_b[i].name));
    }
  }
  const int64_t count = static_cast<int64_t>(ops_a.size());
  if (count == 0 || ra.prefix.back() == rb.prefix.back()) {
    throw VerificationError(fmt::format(
        "the parties' states after step {} differ but every operator of the step agrees", o.step));
  }
  // Position -1 is the empty prefix (agreed by definition): operator 0 can be the disputed one.
  const auto op = verify::bisect(-1, count - 1, [&](int64_t i) {
    return std::pair{ra.prefix[static_cast<size_t>(i)], rb.prefix[static_cast<size_t>(i)]};
  });
  for (const auto& r : op.rounds) {
    o.rounds.push_back({"operator", r.position, ops_a[static_cast<size_t>(r.position)].name,
                        r.claim_a.hex(), r.claim_b.hex()});
  }
  o.operator_count = count;
  o.operator_rounds = static_cast<int64_t>(op.rounds.size());
  o.operator_index = op.first_difference;
  const auto& disputed = ops_a[static_cast<size_t>(o.operator_index)];
  o.operator_name = disputed.name;
  o.operator_description = disputed.id.describe();
  o.claim_a = disputed.hash.hex();
  o.claim_b = ops_b[static_cast<size_t>(o.operator_index)].hash.hex();
}

}  // namespace

DisputeOutcome runDispute(const std::string& run_a, const std::string& run_b,
                          const std::string& work_dir, collectives::Communicator& self) {
  if (self.size() != 1) {
    throw UsageError(
        fmt::format("mlcp verify dispute runs on one process (launched on {})", self.size()));
  }
  DisputeOutcome o;
  o.run_a = run_a;
  o.run_b = run_b;
  // 1.
  const DisputeParty a = openDisputeParty("A", run_a), b = openDisputeParty("B", run_b);
  const auto common = commonCheckpoints(a, b);
  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  if (ec) throw IoError("cannot create " + work_dir + ": " + ec.message());
  const std::string claims = work_dir + "/claims.jsonl";
  if (a.roots.at(common.back()) == b.roots.at(common.back())) {
    o.reason = fmt::format("the runs agree on every common checkpoint up to step {} (root {})",
                           common.back(), a.roots.at(common.back()).hex());
    writeClaims(claims, o);
    return o;
  }
  o.disputed = true;
  // 2, 3.
  checkpointPhase(a, b, common, o);
  stepPhase(a, b, o);
  // 4.
  const auto spec = a.spec();
  const int64_t k1 = o.agreed_checkpoint;
  const auto ra = reexecuteStep(a, spec, k1, o.step, work_dir, self);
  const auto rb = reexecuteStep(b, spec, k1, o.step, work_dir, self);
  const bool bad_a = contradicts(a, ra, k1, o.step), bad_b = contradicts(b, rb, k1, o.step);
  if (bad_a || bad_b) {
    o.wrong = bad_a && bad_b ? "both" : bad_a ? "A" : "B";
    o.reason = fmt::format(
        "re-executing step {} from checkpoint {} does not reproduce the state "
        "hashes {} recorded",
        o.step, k1, o.wrong == "both" ? "either run" : "run " + o.wrong);
    writeClaims(claims, o);
    return o;
  }
  // 5.
  operatorPhase(ra, rb, o);
  // 6.
  Referee referee(spec, self);
  const auto recomputed =
      hashOperatorOutputs(referee.recompute(ra.trace, static_cast<size_t>(o.operator_index)));
  o.referee = recomputed.hex();
  const bool a_right = o.referee == o.claim_a, b_right = o.referee == o.claim_b;
  o.wrong = a_right ? "B" : b_right ? "A" : "both";
  o.reason = fmt::format("the referee recomputed {} of step {} from the agreed inputs and {}",
                         o.operator_name, o.step,
                         a_right   ? "matches A"
                         : b_right ? "matches B"
                                   : "matches neither party");
  writeClaims(claims, o);
  return o;
}

}  // namespace mlcp::runtime
