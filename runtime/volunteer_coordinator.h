// The job side of volunteer computing (docs/volunteers.md): rank 0 of a job with a
// `[volunteers]` table listens on UCX, admits volunteers (`mlcp volunteer`) at step boundaries
// and hands them some of the step's logical micro-batches ("units") — of every data-parallel
// rank's, each rank giving up a share from the end of its range, so that every rank's step gets
// shorter (runtime/trainer.cc tells the ranks their share; rank 0 answers for the units given
// up). A unit's contribution is the same float32 gradient whoever computes it (the reproducible
// operators), and the exact sum does not care who added it, on which rank, or in which order —
// so the step's result has the same bits with or without volunteers, whatever they do.
//
// One step on rank 0, as numbered steps (planStep, beginStep, runStep):
//  1. Admission: connections that arrived are taken from the listener (at most max_volunteers
//     sessions at once, more are closed) and their handshakes (volunteer/session.h) advance
//     without blocking; an established volunteer gets a Welcome (the job file as volunteers see
//     it, the data's content hash). A key off the allowlist, or banned, gets nothing.
//  2. Assignment: of the step's units, the volunteers that are ready get a share in proportion
//     to their measured speed (units per second, against the ranks', each as fast as rank 0),
//     then the State — every parameter and the state digest (runtime/state_chain.h) they must
//     reproduce before computing — and one Assign per unit, each with the job's deadline.
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
  // Every logical micro-batch rank 0 answers for this step: those of its own range it keeps,
  // then `offered`.
  std::vector<int64_t> units;
  // Of them, the ones volunteers take (planStep's count; its own and other ranks' given up), in
  // the order they are handed out.
  std::vector<int64_t> offered;
  Hash256 chain;  // the newest finished state chain link (State.chain_hash)
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
  // Step 1 and the share of step 2: admits what arrived and decides how many of the step's
  // `total` units the volunteers ready now take, against `replicas` data-parallel ranks each as
  // fast as rank 0 (shareUnits). 0 when none is ready or `offer` is false (a planted fault, an
  // operator trace: every unit is computed by a rank); the trainer then runs the step as
  // without volunteers. Otherwise beginStep must follow, with exactly that many units offered.
  int64_t planStep(int64_t total, int replicas, bool offer);
  // The rest of step 2: hands work.offered to the volunteers in the shares planStep decided.
  // runStep() does the rest.
  void beginStep(const UnitWork& work);
  // Steps 3-4; returns the loss of each unit of work.units, in that order.
  std::vector<double> runStep();
  // Called while rank 0 computes a unit (the trainer calls it after each layer's forward and
  // while an emulated slow device sleeps): moves the bytes and handles what arrived — admission,
  // contributions checked and taken — but recomputes nothing: an audit picked now waits until
  // the unit is done. Without it a volunteer's transfers, and so its measured speed, would wait
  // for the end of rank 0's unit. Cheap when nothing arrived.
  void progress();
  // The job finished: Bye(done) to every volunteer.
  void finish();
  VolunteerCounts counts() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// How many of `units` units each volunteer gets: `min_units` each first (in order, while units
// last), then the rest in proportion to the speeds (units per second) by largest remainder,
// against `replicas` ranks of `local_speed` each (rank 0's; a volunteer without a measurement
// counts as one rank); the ranks keep what is left. A pure function (unit tests, bench).
std::vector<int64_t> shareUnits(int64_t units, double local_speed,
                                const std::vector<double>& volunteer_speeds, int64_t min_units = 0,
                                int64_t replicas = 1);

// How many units each data-parallel rank gives up to volunteers when they take `given` of the
// step's units and rank r's range holds ranges[r]: in proportion to the ranges (so every rank's
// step shrinks alike, uneven ranges of a heterogeneous placement included), by largest
// remainder, ties to the higher rank (rank 0, which also computes the late ones, gives up
// last). Each from the end of its range. A pure function.
std::vector<int64_t> unitsGivenUp(const std::vector<int64_t>& ranges, int64_t given);

}  // namespace mlcp::runtime
