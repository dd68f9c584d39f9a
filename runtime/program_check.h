// Whether a checkpoint belongs to a job's logical program: the job as its manifest records it
// must define the same numbers as this one (the canonical program, with the placement-only keys
// — pipeline stages, schedule, virtual stages — left out: they never change a bit), and the
// data it trained on must have this data's content hash. Resume, replay and the dispute's
// re-executions all start from checkpoints; none may continue another program's state.
#pragma once

#include <string>

#include "collectives/communicator.h"
#include "jobs/job_spec.h"
#include "verify/manifest.h"

namespace mlcp::runtime {

// The canonical text of the numbers `spec` defines (JobSpec::canonicalText without the
// placement-only keys).
std::string programText(const jobs::JobSpec& spec);

// UsageError naming the checkpoint `where`, the first differing key with both values, or both
// content hashes, when the manifest's job or data is not this program's. A version 1 manifest
// (no data hash) is checked on the job alone.
void checkSameProgram(const verify::CheckpointManifest& manifest, const std::string& where,
                      const jobs::JobSpec& spec, const std::string& data_hash);

// Collective over `world`, before a run computes anything: every rank must run the same logical
// program (programText) with the same operator set and version (models::opSetVersion: the same
// mlcp build's operators), and under the reproducible set be able to run its instruction-set
// path (MLCP_ISA). Otherwise every rank throws the same UsageError naming the ranks that differ
// and how — a run whose ranks compute differently must not start.
void checkRanksAgree(const jobs::JobSpec& spec, collectives::Communicator& world,
                     const collectives::CollectiveOptions& opts);

}  // namespace mlcp::runtime
