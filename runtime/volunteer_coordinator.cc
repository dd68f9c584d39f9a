#include "runtime/volunteer_coordinator.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <utility>

#include "base/durable_file.h"
#include "base/error.h"
#include "base/hex.h"
#include "collectives/ucx/ucx_worker.h"
#include "jobs/volunteer_job_text.h"
#include "runtime/contribution_tensors.h"
#include "runtime/state_chain.h"
#include "verify/hash.h"
#include "volunteer/audit_policy.h"
#include "volunteer/contribution.h"
#include "volunteer/session.h"
#include "volunteer/tensor_transfer.h"

namespace mlcp::runtime {

namespace ucx = collectives::ucx;
namespace vol = volunteer;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string VolunteerCounts::line() const {
  return fmt::format("volunteers {} | units {} | audited {} | late {} | banned {}", connected,
                     units, audited, late, banned);
}

std::vector<int64_t> shareUnits(int64_t units, double local_speed,
                                const std::vector<double>& volunteer_speeds, int64_t min_units,
                                int64_t replicas) {
  std::vector<int64_t> share(volunteer_speeds.size(), 0);
  if (units <= 0 || volunteer_speeds.empty()) return share;
  // The floor first, volunteer by volunteer while units last; the rest by speed.
  int64_t floor_given = 0;
  for (auto& s : share) {
    s = std::min(min_units, units - floor_given);
    floor_given += s;
  }
  units -= floor_given;
  if (units <= 0) return share;
  const double local = local_speed > 0 ? local_speed : 1.0;
  const double ranks = local * static_cast<double>(std::max<int64_t>(replicas, 1));
  double total = ranks;
  std::vector<double> speed;
  for (double s : volunteer_speeds) speed.push_back(s > 0 ? s : local);
  for (double s : speed) total += s;
  // Largest remainder over the ranks (index 0) and the volunteers; ties to the lower index.
  std::vector<double> exact;
  exact.push_back(static_cast<double>(units) * ranks / total);
  for (double s : speed) exact.push_back(static_cast<double>(units) * s / total);
  std::vector<int64_t> whole;
  int64_t given = 0;
  for (double e : exact) {
    whole.push_back(static_cast<int64_t>(std::floor(e)));
    given += whole.back();
  }
  std::vector<size_t> order(exact.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return exact[a] - std::floor(exact[a]) > exact[b] - std::floor(exact[b]);
  });
  for (size_t k = 0; given < units; ++k, ++given) ++whole[order[k % order.size()]];
  for (size_t i = 0; i < share.size(); ++i) share[i] += whole[i + 1];
  return share;
}

std::vector<int64_t> unitsGivenUp(const std::vector<int64_t>& ranges, int64_t given) {
  std::vector<int64_t> out(ranges.size(), 0);
  int64_t total = 0;
  for (int64_t n : ranges) total += std::max<int64_t>(n, 0);
  given = std::min(given, total);
  if (given <= 0) return out;
  std::vector<double> rest(ranges.size(), 0.0);
  int64_t placed = 0;
  for (size_t r = 0; r < ranges.size(); ++r) {
    const double exact = static_cast<double>(given) *
                         static_cast<double>(std::max<int64_t>(ranges[r], 0)) /
                         static_cast<double>(total);
    out[r] = std::min(static_cast<int64_t>(std::floor(exact)), ranges[r]);
    rest[r] = exact - static_cast<double>(out[r]);
    placed += out[r];
  }
  // The rest one by one: largest remainder first, ties to the higher rank; never more than a
  // range holds.
  std::vector<size_t> order(ranges.size());
  for (size_t r = 0; r < order.size(); ++r) order[r] = order.size() - 1 - r;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return rest[a] > rest[b]; });
  while (placed < given) {
    for (size_t r : order) {
      if (placed == given) break;
      if (out[r] < ranges[r]) {
        ++out[r];
        ++placed;
      }
    }
  }
  return out;
}

namespace {

constexpr int kLateInRowEvicts = 2;

// Sets a flag for the length of a scope.
class FlagScope {
 public:
  explicit FlagScope(bool& flag) : flag_(flag) { flag_ = true; }
  ~FlagScope() { flag_ = false; }
  FlagScope(const FlagScope&) = delete;
  FlagScope& operator=(const FlagScope&) = delete;

 private:
  bool& flag_;
};

std::string keyHex(const verify::PublicKey& key) { return hexEncode(key.data(), key.size()); }

struct Outstanding {
  Clock::time_point deadline;
};

// A contribution whose chunks are still arriving.
struct Partial {
  vol::TensorAssembler tensors;
  Hash256 hash;
  verify::Signature signature{};
};

// A contribution whose hash and signature held and that the audit picked, waiting for rank 0 to
// recompute it: it arrived while rank 0 was computing a unit of its own.
struct PendingAudit {
  int64_t unit = 0;
  Hash256 hash;
  verify::Signature signature{};
  std::vector<std::vector<float>> tensors;
};

struct Volunteer {
  uint64_t id = 0;
  std::optional<vol::Session> session;
  verify::PublicKey key{};  // its ed25519 identity, checked against every contribution
  std::string key_hex;      // the same, for logs, records and the ban list
  std::string name;         // "volunteer 3 (key 0123abcd, 127.0.0.1:50312)"
  std::ofstream records;
  int64_t state_step = -1;  // the step whose State it has
  double speed = 0;         // units per second; 0 = not measured yet
  int64_t shares_back = 0;  // shares (a step's units) it returned whole, over the session
  int64_t correct = 0;      // audited units found equal, over the run
  int late_in_row = 0;      // units in a row that missed their deadline
  std::map<int64_t, Outstanding> outstanding;
  std::map<int64_t, Partial> partial;
  std::vector<PendingAudit> to_audit;  // this step's, in arrival order
  std::vector<int64_t> unaudited;      // this step's accepted units that were not recomputed
  Clock::time_point assigned_at;
  int64_t assigned = 0;
  Clock::time_point joined;

  // Forgets the step's units: outstanding, half received, accepted unaudited. The caller has
  // given back to rank 0 whatever of them must still be computed.
  void forgetStep() {
    outstanding.clear();
    partial.clear();
    to_audit.clear();
    unaudited.clear();
  }

  void record(nlohmann::json event) {
    event["unix_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    records << event.dump() << '\n';
    records.flush();
  }
};

}  // namespace

struct VolunteerCoordinator::Impl {
  const jobs::VolunteersSpec cfg;
  std::string job_id;
  std::vector<std::pair<std::string, torch::Tensor>> params;
  std::vector<torch::Tensor> param_tensors;                // the same handles, without names
  std::vector<std::vector<uint64_t>> contribution_shapes;  // gradients, then the loss (scalar)
  vol::Welcome welcome;
  std::string dir;  // RUN_DIR/volunteers
  verify::KeyPair key;
  std::function<void(const std::string&)> log;
  std::set<std::string> allowed, banned;
  vol::AuditPolicy audit;
  ucx::Context context;
  ucx::Worker worker;
  ucx::Listener listener;
  vol::ServerOptions server;
  std::vector<vol::PendingSession> pending;
  std::vector<std::unique_ptr<Volunteer>> volunteers;
  uint64_t next_id = 1;
  VolunteerCounts counts;
  double local_seconds = 0;  // rank 0's time per unit (moving average); 0 = not measured

  // One step's bookkeeping.
  std::vector<std::pair<Volunteer*, int64_t>> planned;  // planStep's share of each ready one
  UnitWork step_work;
  const UnitWork* work = nullptr;
  Hash256 digest;  // the state digest of this step's parameters (once a volunteer needs it)
  int64_t digest_step = -1;
  std::map<int64_t, double> losses;
  std::vector<int64_t> local_queue;  // units rank 0 must compute (kept, late, lost, refused)
  bool draining = false;             // inside drain(): progress() only moves bytes
  bool mid_unit = false;             // drain() from progress(), while rank 0 computes: audits wait

  Impl(const jobs::JobSpec& spec, std::vector<std::pair<std::string, torch::Tensor>> p,
       const std::string& data_hash, const std::string& run_dir, const verify::KeyPair& k,
       std::function<void(const std::string&)> l)
      : cfg(spec.volunteers),
        job_id(spec.name),
        params(std::move(p)),
        dir(run_dir + "/volunteers"),
        key(k),
        log(std::move(l)),
        audit(spec.volunteers.audit_rate, spec.volunteers.audit_trust_after),
        worker(context) {
    for (const auto& [name, t] : params) {
      param_tensors.push_back(t);
      std::vector<uint64_t> shape;
      for (int64_t d : t.sizes()) shape.push_back(static_cast<uint64_t>(d));
      contribution_shapes.push_back(std::move(shape));
    }
    contribution_shapes.emplace_back();  // the loss
    for (const auto& k_hex : cfg.allowed_keys) allowed.insert(k_hex);
    welcome.job_id = job_id;
    welcome.data_hash = Hash256::fromHex(data_hash);
    welcome.job_file = jobs::volunteerJobText(spec);
    std::error_code ec;
    fs::create_directories(dir + "/evidence", ec);
    if (ec) throw IoError("cannot create " + dir + ": " + ec.message());
    readBanned();
    server.job_id = job_id;
    server.allow = [this](const verify::PublicKey& v) {
      const std::string hex = keyHex(v);
      return allowed.count(hex) > 0 && banned.count(hex) == 0;
    };
    server.log = [this](const std::string& line) {
      ++counts.rejected;
      log("mlcp: " + line);
    };
    listener = worker.listen(cfg.listen);
    writeFileDurably(dir + "/address", address() + "\n");
    writeFileDurably(dir + "/job_key", key.publicKeyHex() + "\n");
  }

  std::string address() const { return listener.address(); }

  void readBanned() {
    std::ifstream in(dir + "/banned");
    std::string line;
    while (std::getline(in, line)) {
      if (line.size() >= 64) banned.insert(line.substr(0, 64));
    }
  }

  // ---- step 1: admission ---------------------------------------------------------------------
  void admit() {
    for (;;) {
      std::optional<ucx::Endpoint> ep;
      try {
        ep = listener.tryAccept(vol::volunteerEndpointOptions());
      } catch (const Error& e) {
        // A volunteer that dialled and gave up (or died) before the job got to its request:
        // the request is spent, the job goes on.
        ++counts.rejected;
        log(fmt::format("mlcp: a volunteer's connection failed before it was accepted: {}",
                        e.what()));
        continue;
      }
      if (!ep) break;
      const size_t connected = volunteers.size() + pending.size();
      if (connected >= static_cast<size_t>(cfg.max_volunteers)) {
        ++counts.rejected;
        log(
            fmt::format("mlcp: volunteer connection from {} refused: the job takes at most {} "
                        "volunteers (volunteers.max_volunteers)",
                        ep->peer(), cfg.max_volunteers));
        try {
          ep->close(ucx::deadlineIn(std::chrono::milliseconds(200)));
        } catch (const Error&) {
        }
        continue;
      }
      pending.emplace_back(std::move(*ep), key, server);
    }
    for (size_t i = 0; i < pending.size();) {
      std::optional<vol::Session> session;
      bool finished = false;
      try {
        session = pending[i].poll();
        finished = session.has_value();
      } catch (const Error&) {
        finished = true;  // logged through server.log
      }
      if (finished) {
        if (session) welcomeVolunteer(std::move(*session));
        pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  }

  void welcomeVolunteer(vol::Session session) {
    auto v = std::make_unique<Volunteer>();
    v->id = next_id++;
    v->key = session.peerKey();
    v->key_hex = keyHex(v->key);
    v->name =
        fmt::format("volunteer {} (key {}, {})", v->id, v->key_hex.substr(0, 16), session.peer());
    v->joined = Clock::now();
    v->records.open(dir + "/" + v->key_hex.substr(0, 16) + ".jsonl", std::ios::app);
    vol::Welcome w = welcome;
    w.node_id = v->id;
    try {
      session.send(w, ucx::deadlineIn(std::chrono::seconds(10)));
    } catch (const Error& e) {
      log(fmt::format("mlcp: {} left before its welcome: {}", v->name, e.what()));
      return;
    }
    v->session.emplace(std::move(session));
    v->record(
        {{"event", "joined"}, {"id", v->id}, {"key", v->key_hex}, {"peer", v->session->peer()}});
    log(fmt::format("mlcp: {} joined", v->name));
    volunteers.push_back(std::move(v));
    counts.connected = static_cast<int>(volunteers.size());
  }

  // ---- leaving, bans ---------------------------------------------------------------------------
  // Its outstanding units go back to rank 0; `bye` says why, when the session still works.
  void drop(Volunteer& v, const std::string& why, std::optional<vol::ByeReason> bye) {
    for (const auto& [unit, o] : v.outstanding) {
      local_queue.push_back(unit);
      ++counts.late;
    }
    for (const auto& a : v.to_audit) {  // not checked yet: computed here instead
      local_queue.push_back(a.unit);
      ++counts.late;
    }
    v.forgetStep();
    if (v.session && bye) {
      try {
        v.session->send(vol::Bye{*bye, why.substr(0, vol::kMaxTextBytes)},
                        ucx::deadlineIn(std::chrono::milliseconds(500)));
        v.session->close(ucx::deadlineIn(std::chrono::milliseconds(500)));
      } catch (const Error&) {
      }
    }
    v.session.reset();
    v.record({{"event", "left"}, {"why", why}});
    log(fmt::format("mlcp: {} left: {}", v.name, why));
  }

  void removeGone() {
    volunteers.erase(std::remove_if(volunteers.begin(), volunteers.end(),
                                    [](const auto& v) { return !v->session; }),
                     volunteers.end());
    counts.connected = static_cast<int>(volunteers.size());
  }

  // `mine`: the recomputation (gradients, then the loss), when there is one.
  void keepEvidence(Volunteer& v, int64_t unit, const Hash256& claimed,
                    const verify::Signature& signature, const std::vector<std::vector<float>>& got,
                    const std::vector<std::vector<float>>* mine, const std::string& why) {
    std::optional<Hash256> recomputed;
    if (mine != nullptr) recomputed = vol::gradientHash(*mine);
    const std::string d = fmt::format("{}/evidence/step-{}-unit-{}-{}", dir, work->step + 1, unit,
                                      v.key_hex.substr(0, 16));
    std::error_code ec;
    fs::create_directories(d, ec);
    std::string bytes;
    for (const auto& t : got) {
      bytes.append(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(float));
    }
    try {
      writeFileDurably(d + "/contribution.f32", bytes);
      if (mine != nullptr) {
        std::string again;
        for (const auto& t : *mine) {
          again.append(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(float));
        }
        writeFileDurably(d + "/recomputed.f32", again);
      }
      nlohmann::json claim = {
          {"why", why},
          {"job", job_id},
          {"step", work->step + 1},
          {"step_index", work->step},
          {"micro_batch", unit},
          {"state_digest", digest.hex()},
          {"volunteer_key", v.key_hex},
          {"gradient_hash", claimed.hex()},
          {"signature", hexEncode(signature.data(), signature.size())},
          {"signed_statement_hex",
           hexEncode(vol::contributionStatement(job_id, static_cast<uint64_t>(work->step),
                                                static_cast<uint64_t>(unit), digest, claimed))},
          {"recomputed_hash", recomputed ? recomputed->hex() : ""},
          {"tensors",
           "contribution.f32 / recomputed.f32: float32 LE, parameter order, the loss "
           "last"}};
      writeFileDurably(d + "/claim.json", claim.dump(2) + "\n");
    } catch (const Error& e) {
      log(fmt::format("mlcp: could not keep the evidence against {}: {}", v.name, e.what()));
    }
  }

  void ban(Volunteer& v, int64_t unit, const std::string& why) {
    banned.insert(v.key_hex);
    ++counts.banned;
    {
      std::ofstream out(dir + "/banned", std::ios::app);
      out << v.key_hex << " step " << work->step + 1 << " unit " << unit << ": " << why << '\n';
    }
    // Its unaudited units of this step are discarded and recomputed here.
    for (int64_t j : v.unaudited) {
      local_queue.push_back(j);
      --counts.units;
      ++counts.late;
    }
    v.record({{"event", "banned"},
              {"step", work->step + 1},
              {"micro_batch", unit},
              {"why", why},
              {"discarded", v.unaudited}});
    log(
        fmt::format("mlcp: {} BANNED at step {} (micro-batch {}): {}; its {} unaudited unit(s) "
                    "of the step are recomputed, evidence in {}/evidence",
                    v.name, work->step + 1, unit, why, v.unaudited.size(), dir));
    drop(v, "banned: " + why, vol::ByeReason::kEvicted);
  }

  // ---- step 3/4: what arrives ---------------------------------------------------------------
  double computeHere(int64_t unit) {
    const auto t0 = Clock::now();
    const double loss = work->compute(unit);
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    local_seconds = local_seconds > 0 ? 0.7 * local_seconds + 0.3 * dt : dt;
    return loss;
  }

  // Recomputes `a.unit` here and compares; keeps rank 0's copy either way.
  void auditUnit(Volunteer& v, const PendingAudit& a) {
    const double loss = computeHere(a.unit);
    const auto mine = contributionTensors(param_tensors, static_cast<float>(loss));
    const Hash256 recomputed = vol::gradientHash(mine);
    work->keepComputed(a.unit);  // the copy computed here either way
    losses[a.unit] = loss;
    if (recomputed != a.hash) {
      keepEvidence(v, a.unit, a.hash, a.signature, a.tensors, &mine, "the recomputation differs");
      ban(v, a.unit, "its contribution differs from the recomputation");
      return;
    }
    ++v.correct;
    v.late_in_row = 0;
    ++counts.audited;
    ++counts.units;
    v.record({{"event", "unit"},
              {"step", work->step + 1},
              {"micro_batch", a.unit},
              {"audited", true},
              {"outcome", "equal"}});
  }

  // The audits that waited for rank 0's unit (mid_unit); true when there were any.
  bool runPendingAudits() {
    bool any = false;
    // By index: a recomputation's progress() may admit a volunteer (appended).
    for (size_t i = 0; i < volunteers.size(); ++i) {
      Volunteer& v = *volunteers[i];
      while (v.session && !v.to_audit.empty()) {
        const PendingAudit a = std::move(v.to_audit.front());
        v.to_audit.erase(v.to_audit.begin());
        auditUnit(v, a);
        any = true;
      }
    }
    return any;
  }

  void onContribution(Volunteer& v, vol::Contribution&& c) {
    const int64_t unit = static_cast<int64_t>(c.micro_batch);
    if (work == nullptr || static_cast<int64_t>(c.step) != work->step ||
        v.outstanding.count(unit) == 0) {
      // Late (already recomputed here) or never assigned: the first valid copy has won.
      v.partial.erase(unit);
      v.record({{"event", "ignored"},
                {"step", c.step + 1},
                {"micro_batch", unit},
                {"why", "not outstanding (late or not assigned)"}});
      return;
    }
    auto it = v.partial.find(unit);
    if (it == v.partial.end()) {
      it = v.partial
               .emplace(unit,
                        Partial{vol::TensorAssembler(contribution_shapes, "Contribution tensors"),
                                c.gradient_hash, c.signature})
               .first;
    } else if (it->second.hash != c.gradient_hash || it->second.signature != c.signature) {
      throw CommError("a Contribution chunk changed the hash or signature of its unit");
    }
    it->second.tensors.add(c.chunk_index, c.chunk_count, std::move(c.tensors));
    if (!it->second.tensors.complete()) return;
    Partial part = std::move(it->second);
    v.partial.erase(it);
    v.outstanding.erase(unit);
    std::vector<std::vector<float>> got = part.tensors.take();
    const uint64_t step = static_cast<uint64_t>(work->step);
    // The hash over what arrived, then the signature over the hash.
    if (vol::gradientHash(got) != part.hash) {
      keepEvidence(v, unit, part.hash, part.signature, got, nullptr,
                   "the gradient hash does not match the tensors sent");
      local_queue.push_back(unit);
      ban(v, unit, "its gradient hash does not match the tensors it sent");
      return;
    }
    if (!vol::verifyContribution(v.key, job_id, step, static_cast<uint64_t>(unit), digest,
                                 part.hash, part.signature)) {
      keepEvidence(v, unit, part.hash, part.signature, got, nullptr,
                   "the signature does not verify");
      local_queue.push_back(unit);
      ban(v, unit, "its contribution's signature does not verify");
      return;
    }
    // Its speed, once its share is back — but for its first: that one pays for the volunteer's
    // warm-up (its first State, allocations), and measured it would starve the volunteer of
    // units for the rest of the session.
    if (v.assigned > 0 && v.outstanding.empty() && v.shares_back++ > 0) {
      const double dt = std::chrono::duration<double>(Clock::now() - v.assigned_at).count();
      const double s = static_cast<double>(v.assigned) / std::max(dt, 1e-6);
      v.speed = v.speed > 0 ? 0.5 * v.speed + 0.5 * s : s;
    }
    if (audit.audit(v.key, v.correct, step, static_cast<uint64_t>(unit))) {
      PendingAudit a{unit, part.hash, part.signature, std::move(got)};
      if (mid_unit) {
        v.to_audit.push_back(std::move(a));  // recomputed once rank 0's unit is done
      } else {
        auditUnit(v, a);
      }
      return;
    }
    std::vector<torch::Tensor> grads;
    for (size_t k = 0; k < params.size(); ++k) {
      grads.push_back(
          torch::from_blob(got[k].data(), params[k].second.sizes(), torch::kFloat32).clone());
    }
    losses[unit] = static_cast<double>(got.back().at(0));
    work->keepReceived(unit, std::move(grads));
    v.unaudited.push_back(unit);
    v.late_in_row = 0;
    ++counts.units;
    v.record({{"event", "unit"},
              {"step", step + 1},
              {"micro_batch", unit},
              {"audited", false},
              {"outcome", "accepted"}});
  }

  void onMessage(Volunteer& v, vol::Message&& m) {
    switch (vol::typeOf(m)) {
      case vol::MessageType::kContribution:
        onContribution(v, std::get<vol::Contribution>(std::move(m)));
        return;
      case vol::MessageType::kHeartbeat:
      case vol::MessageType::kAck:
        return;
      case vol::MessageType::kBye: {
        const auto& bye = std::get<vol::Bye>(m);
        drop(v, bye.detail.empty() ? "it said goodbye" : "it said goodbye: " + bye.detail,
             std::nullopt);
        return;
      }
      case vol::MessageType::kReject: {
        const auto& r = std::get<vol::Reject>(m);
        drop(v,
             fmt::format("it refused a {}: {} {}", vol::messageTypeName(r.rejected),
                         vol::rejectReasonText(r.reason), r.detail),
             vol::ByeReason::kShutdown);
        return;
      }
      default:
        throw CommError(fmt::format("a {} message, which volunteers do not send",
                                    vol::messageTypeName(vol::typeOf(m))));
    }
  }

  // Handles everything that has arrived; true when something did.
  bool drain() {
    const FlagScope scope(draining);
    admit();
    bool any = false;
    for (size_t i = 0; i < volunteers.size(); ++i) {
      Volunteer& v = *volunteers[i];
      while (v.session) {
        std::optional<vol::Message> m;
        try {
          m = v.session->tryReceive();
          if (!m) break;
          any = true;
          onMessage(v, std::move(*m));
        } catch (const Error& e) {
          if (v.session) drop(v, std::string("the connection failed: ") + e.what(), std::nullopt);
          any = true;
        }
      }
    }
    // Mid-unit, a caller may be walking the volunteers (runPendingAudits): they go later.
    if (!mid_unit) removeGone();
    return any;
  }

  void progress() {
    // Inside a drain (an audit's recomputation) or between steps: bytes only.
    if (draining || work == nullptr) {
      worker.progress();
      return;
    }
    const FlagScope scope(mid_unit);
    drain();
  }

  // ---- step 2: assignment ------------------------------------------------------------------
  void sendState(Volunteer& v) {
    if (digest_step != work->step) {
      std::vector<Hash256> hashes;
      for (const auto& [name, t] : params) {
        hashes.push_back(verify::hashTensor(verify::DType::kFloat32, t.sizes().vec(),
                                            t.data_ptr<float>(),
                                            static_cast<size_t>(t.numel()) * sizeof(float)));
      }
      digest = stateDigest(hashes);
      digest_step = work->step;
    }
    std::vector<vol::TensorRef> refs;
    for (const auto& [name, p] : params) {
      const auto& t = p;  // contiguous parameters (the models register them so)
      std::vector<uint64_t> shape;
      for (int64_t d : t.sizes()) shape.push_back(static_cast<uint64_t>(d));
      refs.push_back({name, shape, t.data_ptr<float>(), static_cast<uint64_t>(t.numel())});
    }
    const auto chunks = vol::splitTensors(refs, vol::floatsPerMessage(refs.size()));
    for (size_t c = 0; c < chunks.size(); ++c) {
      vol::State s;
      s.step = static_cast<uint64_t>(work->step);
      s.state_hash = digest;
      s.chain_hash = work->chain;
      s.chunk_index = static_cast<uint32_t>(c);
      s.chunk_count = static_cast<uint32_t>(chunks.size());
      s.tensors = chunks[c];
      v.session->send(s, ucx::deadlineIn(std::chrono::seconds(30)));
    }
    v.state_step = work->step;
  }

  int64_t plan(int64_t total, int replicas, bool offer) {
    planned.clear();
    if (!offer || total <= 0) return 0;
    std::vector<double> speeds;
    for (auto& v : volunteers) {
      if (v->session) {
        planned.emplace_back(v.get(), 0);
        speeds.push_back(v->speed);
      }
    }
    if (planned.empty()) return 0;
    const double local_speed = local_seconds > 0 ? 1.0 / local_seconds : 0.0;
    const auto share = shareUnits(total, local_speed, speeds, cfg.min_units, replicas);
    int64_t given = 0;
    for (size_t i = 0; i < planned.size(); ++i) {
      planned[i].second = share[i];
      given += share[i];
    }
    return given;
  }

  // Returns the units rank 0 computes now: those it kept, and offered ones whose volunteer
  // could not be told.
  std::vector<int64_t> assign() {
    const std::set<int64_t> offered(work->offered.begin(), work->offered.end());
    std::vector<int64_t> mine;
    for (int64_t u : work->units) {
      if (offered.count(u) == 0) mine.push_back(u);
    }
    const auto deadline = std::chrono::duration<double>(cfg.deadline_s);
    size_t next = 0;  // the next offered unit to hand out
    for (const auto& [vp, n] : planned) {
      Volunteer& v = *vp;
      const size_t take = std::min(static_cast<size_t>(n), work->offered.size() - next);
      if (take == 0) continue;
      std::vector<int64_t> units(work->offered.begin() + static_cast<std::ptrdiff_t>(next),
                                 work->offered.begin() + static_cast<std::ptrdiff_t>(next + take));
      next += take;
      if (!v.session) {
        mine.insert(mine.end(), units.begin(), units.end());
        continue;
      }
      try {
        if (v.state_step != work->step) sendState(v);
        v.assigned_at = Clock::now();
        v.assigned = static_cast<int64_t>(units.size());
        for (size_t k = 0; k < units.size(); ++k) {
          // The k-th unit can start once the ones before it are done.
          const auto allowed = deadline * static_cast<double>(k + 1);
          vol::Assign a;
          a.step = static_cast<uint64_t>(work->step);
          a.micro_batch = static_cast<uint64_t>(units[k]);
          a.deadline_ms = static_cast<uint64_t>(
              std::chrono::duration_cast<std::chrono::milliseconds>(allowed).count());
          v.outstanding[units[k]] = {Clock::now() +
                                     std::chrono::duration_cast<Clock::duration>(allowed)};
          v.session->send(a, ucx::deadlineIn(std::chrono::seconds(10)));
        }
        v.record({{"event", "assigned"}, {"step", work->step + 1}, {"units", units}});
      } catch (const Error& e) {
        // Units it was never told of stay rank 0's; drop() gives back the ones it was.
        for (int64_t u : units) {
          if (v.outstanding.count(u) == 0) mine.push_back(u);
        }
        drop(v, std::string("the connection failed: ") + e.what(), std::nullopt);
      }
    }
    // Offered beyond the plan (the caller's mistake): computed here rather than lost.
    mine.insert(mine.end(), work->offered.begin() + static_cast<std::ptrdiff_t>(next),
                work->offered.end());
    planned.clear();
    removeGone();
    return mine;
  }

  void expire() {
    const auto now = Clock::now();
    for (auto& vp : volunteers) {
      Volunteer& v = *vp;
      if (!v.session) continue;
      for (auto it = v.outstanding.begin(); it != v.outstanding.end();) {
        if (it->second.deadline <= now) {
          local_queue.push_back(it->first);
          ++counts.late;
          v.partial.erase(it->first);
          v.record({{"event", "late"}, {"step", work->step + 1}, {"micro_batch", it->first}});
          log(fmt::format("mlcp: {}: micro-batch {} of step {} missed its deadline; computed here",
                          v.name, it->first, work->step + 1));
          it = v.outstanding.erase(it);
          ++v.late_in_row;
        } else {
          ++it;
        }
      }
      // A volunteer that keeps missing deadlines holds every step up: it is sent away (not
      // banned; it may come back).
      if (v.late_in_row >= kLateInRowEvicts) {
        drop(v, fmt::format("missed {} deadlines in a row", v.late_in_row),
             vol::ByeReason::kEvicted);
      }
    }
    removeGone();
  }

  bool anyOutstanding() const {
    return std::any_of(volunteers.begin(), volunteers.end(),
                       [](const auto& v) { return !v->outstanding.empty(); });
  }

  std::optional<Clock::time_point> earliestDeadline() const {
    std::optional<Clock::time_point> t;
    for (const auto& v : volunteers) {
      for (const auto& [unit, o] : v->outstanding) {
        if (!t || o.deadline < *t) t = o.deadline;
      }
    }
    return t;
  }

  // Computes what rank 0 must: the audits that waited, and local_queue's units; drains between.
  void runLocalQueue() {
    for (;;) {
      if (runPendingAudits()) {
        drain();
        continue;
      }
      if (local_queue.empty()) return;
      const int64_t j = local_queue.front();
      local_queue.erase(local_queue.begin());
      losses[j] = computeHere(j);
      work->keepComputed(j);
      drain();
    }
  }

  int64_t planStep(int64_t total, int replicas, bool offer) {
    require(work == nullptr, "VolunteerCoordinator::planStep inside a step");
    drain();
    return plan(total, replicas, offer);
  }

  void beginStep(const UnitWork& w) {
    require(work == nullptr, "VolunteerCoordinator::beginStep inside a step");
    step_work = w;
    work = &step_work;
    losses.clear();
    local_queue.clear();
    // Appended: a volunteer that failed while being assigned gave its units back already.
    const auto mine = assign();
    local_queue.insert(local_queue.end(), mine.begin(), mine.end());
  }

  std::vector<double> runStep() {
    require(work != nullptr, "VolunteerCoordinator::runStep without a step begun");
    const UnitWork& w = *work;
    runLocalQueue();
    for (;;) {
      expire();
      runLocalQueue();
      const auto deadline = earliestDeadline();
      if (!deadline) break;
      worker.progressUntil([&] { return drain(); }, *deadline);
      runLocalQueue();
    }
    for (auto& v : volunteers) v->forgetStep();
    // Every unit has exactly one copy by now; should one not, it is computed here rather than
    // the job failing (and said, since it means a bookkeeping error).
    for (int64_t j : w.units) {
      if (losses.count(j) != 0) continue;
      log(fmt::format("mlcp: internal: micro-batch {} of step {} had no copy; computed here", j,
                      w.step + 1));
      losses[j] = computeHere(j);
      w.keepComputed(j);
    }
    std::vector<double> out;
    for (int64_t j : w.units) out.push_back(losses.at(j));
    work = nullptr;
    return out;
  }

  void goodbye(vol::ByeReason reason, const std::string& why) {
    for (auto& v : volunteers) {
      if (!v->session) continue;
      try {
        v->session->send(vol::Bye{reason, why}, ucx::deadlineIn(std::chrono::milliseconds(500)));
        v->session->close(ucx::deadlineIn(std::chrono::milliseconds(500)));
      } catch (const Error&) {
      }
      v->session.reset();
      v->record({{"event", "left"}, {"why", why}});
    }
    planned.clear();
    volunteers.clear();
    pending.clear();
    counts.connected = 0;
  }
};

VolunteerCoordinator::VolunteerCoordinator(
    const jobs::JobSpec& spec, std::vector<std::pair<std::string, torch::Tensor>> parameters,
    const std::string& data_hash, const std::string& run_dir, const verify::KeyPair& job_key,
    std::function<void(const std::string&)> log)
    : impl_(std::make_unique<Impl>(spec, std::move(parameters), data_hash, run_dir, job_key,
                                   std::move(log))) {}

VolunteerCoordinator::~VolunteerCoordinator() {
  try {
    impl_->goodbye(vol::ByeReason::kShutdown, "the job stopped");
  } catch (...) {
  }
}

std::string VolunteerCoordinator::address() const { return impl_->address(); }

int64_t VolunteerCoordinator::planStep(int64_t total, int replicas, bool offer) {
  return impl_->planStep(total, replicas, offer);
}

void VolunteerCoordinator::beginStep(const UnitWork& work) { impl_->beginStep(work); }

std::vector<double> VolunteerCoordinator::runStep() { return impl_->runStep(); }

void VolunteerCoordinator::progress() { impl_->progress(); }

void VolunteerCoordinator::finish() { impl_->goodbye(vol::ByeReason::kDone, "the job finished"); }

VolunteerCounts VolunteerCoordinator::counts() const { return impl_->counts; }

}  // namespace mlcp::runtime
