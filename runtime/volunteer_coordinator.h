// The job side of volunteer computing (docs/volunteers.md): rank 0 of a job with a
// `[volunteers]` table listens on UCX, admits volunteers (`mlcp volunteer`) at step boundaries
// and hands them some of its own logical micro-batches ("units"). A unit's contribution is the
// same float32 gradient whoever computes it (the reproducible operators), and the exact sum
// does not care who added it or in which order — so the step's result has the same bits with or
// without volunteers, whatever they do.
//
// One step on rank 0, as numbered steps (runStep):
//  1. Admission: connections that arrived are taken from the listener (at most max_volunteers
//     sessions at once, more are closed) and their handshakes (volunteer/session.h) advance
//     without blocking; an established volunteer gets a Welcome (the job file as volunteers see
//     it, the data's content hash). A key off the allowlist, or banned, gets nothing.
//  2. Assignment: of the step's units, each volunteer that is ready gets a share in proportion
//     to its measured speed (units per second, against rank 0's own), then the State — every
//     parameter and the state digest (runtime/state_chain.h) it must reproduce before
//     computing — and one Assign per unit, each with the job's deadline.
//  3. Rank 0 computes the units it kept, polling between them; then it waits for the
//     volunteers' units — never past a unit's deadline: a late, lost (the volunteer left,
//     vanished or broke the protocol) or refused unit is computed here. The first valid copy of
//     a unit wins; every unit is counted exactly once.
//  4. Checking a contribution: its hash must match its tensors and its ed25519 signature the
//     volunteer's key (contribution.h); an audited unit (volunteer/audit_policy.h) is recomputed
//     here and compared bit for bit. A mismatch, a bad hash or a bad signature bans the key for
//     the run: its unaudited units of the step are discarded and recomputed, its outstanding
//     ones too, the evidence (the signed contribution and the recomputation) is kept under
//     RUN_DIR/volunteers/evidence/, and it is sent Bye(evicted). The result never absorbs a bad
//     contribution.
// Records: RUN_DIR/volunteers/address (HOST:PORT, once listening), job_key (the job's public
// key), banned (one key per line), and <key prefix>.jsonl per volunteer (joins, units, audits,
// departures).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/digest.h"
#include "jobs/job_spec.h"
#include "verify/node_key.h"

namespace mlcp::runtime {

struct VolunteerCounts {
  int connected = 0;     // sessions established now
  int64_t units = 0;     // volunteer units accepted into the result
  int64_t audited = 0;   // of them, recomputed here and found equal
  int64_t late = 0;      // units recomputed here: late, lost or refused
  int64_t banned = 0;    // keys banned
  int64_t rejected = 0;  // connections refused or failed (handshake, allowlist, protocol)
  // "volunteers 2 | units 37 | audited 12 | late 1 | banned 0"
  std::string line() const;
};

// One step's units on rank 0, and how the trainer computes and keeps one.
struct UnitWork {
  int64_t step = 0;
  std::vector<int64_t> units;  // the logical micro-batches rank 0 owns, in order
  bool offer = true;           // false: compute them all here (a planted fault, a trace)
  Hash256 chain;               // the newest finished state chain link (State.chain_hash)
  // Computes unit j here: its gradient is left in the parameters' .grad; returns its loss.
  std::function<double(int64_t j)> compute;
  // Takes the parameters' .grad as unit j's contribution (after compute(j)).
  std::function<void(int64_t j)> keepComputed;
  // Takes a volunteer's gradient tensors (parameter order, contiguous float32) as unit j's.
  std::function<void(int64_t j, std::vector<torch::Tensor> grads)> keepReceived;
};

class VolunteerCoordinator {
 public:
  // Listens at spec.volunteers.listen. `parameters` are the model's, in parameter (name) order
  // (borrowed handles: the State sent each step reads them). `log` prints one line.
  VolunteerCoordinator(const jobs::JobSpec& spec,
                       std::vector<std::pair<std::string, torch::Tensor>> parameters,
                       const std::string& data_hash, const std::string& run_dir,
                       const verify::KeyPair& job_key, std::function<void(const std::string&)> log);
  ~VolunteerCoordinator();  // Bye(shutdown) to every volunteer still connected
  VolunteerCoordinator(const VolunteerCoordinator&) = delete;
  VolunteerCoordinator& operator=(const VolunteerCoordinator&) = delete;

  // HOST:PORT as bound (the port the kernel chose for port 0).
  std::string address() const;
  // Steps 1-2 above. True when volunteers were given units of this step: then runStep() does
  // the rest; false: no volunteer has any, and the trainer runs the step as without them.
  bool beginStep(const UnitWork& work);
  // Steps 3-4; returns the loss of each unit of work.units, in that order.
  std::vector<double> runStep();
  // The job finished: Bye(done) to every volunteer.
  void finish();
  VolunteerCounts counts() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// How many of `units` units each volunteer gets: `min_units` each first (in order, while units
// last), then the rest in proportion to the speeds (units per second; rank 0's is
// `local_speed`, a volunteer without a measurement counts as rank 0's) by largest remainder;
// rank 0 keeps what is left. A pure function (unit tests, bench).
std::vector<int64_t> shareUnits(int64_t units, double local_speed,
                                const std::vector<double>& volunteer_speeds, int64_t min_units = 0);

}  // namespace mlcp::runtime
