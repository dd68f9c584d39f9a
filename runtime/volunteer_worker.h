// The volunteer's side (`mlcp volunteer`, docs/volunteers.md): a process outside MPI that dials a
// job's coordinator over UCX (outbound, so NAT on its side is no obstacle), proves its ed25519
// node key, and computes the logical micro-batches it is given with exactly the function a
// rank runs (runtime/local_executor.h computeMicroBatch).
//
// As numbered steps:
//  1. Connect and handshake (volunteer/session.h); a job that refuses the key ends the process.
//  2. Welcome: the job file as volunteers see it (jobs/volunteer_job_text.h). The volunteer
//     builds the model and reads the data from its own copy (--data overrides data.path), and
//     refuses to work when the data's content hash is not the job's.
//  3. State: every parameter for the coming step; the volunteer checks the state digest
//     (runtime/state_chain.h) of what it received against the one the job committed to, and
//     refuses (Reject, then exit) on a mismatch.
//  4. Assign: per unit, computeMicroBatch with the job's seed, step and micro-batch; the gradient
//     tensors and the loss are hashed, the hash signed (volunteer/contribution.h), and sent back
//     in Contribution chunks.
//  5. Bye from the job ends the process with the reason: 3 when the job finished, 4 when it
//     evicted this volunteer, 1 when it stopped. A job that vanishes or stays silent past
//     --idle-timeout ends it with 1.
// SIGTERM or SIGINT: the volunteer says Bye and leaves after the unit in hand (exit 0); the job
// computes what it had not returned.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace mlcp::runtime {

struct VolunteerOptions {
  std::string connect;   // HOST:PORT of the job's coordinator
  std::string job;       // the job's id (its name): bound into every message
  std::string key_file;  // this volunteer's ed25519 node key
  std::string job_key;   // 64 hex digits: refuse any other job key; "" = any
  std::string data;      // overrides the job's data.path; "" = the job's
  int threads = 1;       // intra-op threads (the bits do not depend on them)
  double connect_timeout_s = 30;
  double idle_timeout_s = 600;  // no message from the job for this long ends the process
  // Test switches. `slow_ms`: each unit takes this much longer (a slow machine; a kill in the
  // middle of a unit). `lie_step` (1-based): the first unit of that step or later has its
  // gradient perturbed before it is hashed and signed — a volunteer that lies consistently.
  double slow_ms = 0;
  int64_t lie_step = -1;
  std::function<void(const std::string&)> say;  // one line of what it does
};

// Exit statuses of `mlcp volunteer`.
// A volunteer serves a job: when the job ends — finished or vanished — it exits non-zero with
// one sentence (a supervisor restarts it for the next job); 0 only when it was asked to leave.
constexpr int kVolunteerDone = 0;      // the volunteer left on a signal
constexpr int kVolunteerJobEnded = 3;  // the job finished (Bye done)
constexpr int kVolunteerUsage = 2;     // bad options, key, data that is not the job's
constexpr int kVolunteerLost = 1;      // the job vanished, went silent or broke the protocol
constexpr int kVolunteerRefused = 4;   // the job refused or evicted this volunteer

struct VolunteerResult {
  int exit_code = kVolunteerDone;
  std::string why;  // one sentence
  int64_t units = 0;
};

VolunteerResult runVolunteer(const VolunteerOptions& options);

}  // namespace mlcp::runtime
