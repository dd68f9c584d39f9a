// The job file as a volunteer receives it (volunteer/wire.h, Welcome): the job's own TOML with
// what is the job side's alone left out — [volunteers] (the allowlist, the job's key file),
// [bridge], [slurm], checkpoint.key_file, runtime.devices_file, job.output_dir — and data paths
// made absolute. What remains is the logical program (every key of JobSpec::canonicalText), so
// the volunteer builds the same model, data order and seeds; it reads the data from its own copy
// (`mlcp volunteer --data`) and checks the data's content hash.
#pragma once

#include <string>

#include "jobs/job_spec.h"

namespace mlcp::jobs {

std::string volunteerJobText(const JobSpec& spec);

}  // namespace mlcp::jobs
