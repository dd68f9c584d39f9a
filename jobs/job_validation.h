// Value checks on a JobSpec read from a file: ranges, cross-field rules (batch split, parallel
// plan against the model), and the filesystem (data files, key files) — everything that can be
// known before work starts. Types, enums and which keys apply are checked while reading
// (job_spec.cc); this file checks what the values mean.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jobs/job_spec.h"
#include "jobs/spec_reader.h"

namespace mlcp::jobs {

// Throws UsageError "<file>:<line>:<col>: <key>: <expected>, got <found>" for the first rule
// `spec` breaks; positions come from `reader` (the parsed file). Checks run section by section
// in documentation order, single keys before the cross-field rules that involve them.
void validateJobSpec(const JobSpec& spec, const SpecReader& reader);

// Why `world` ranks cannot run the parallel plan ("expected dp*pp*tp = 2*2*1 = 4 ranks"), or
// nullopt when they can.
std::optional<std::string> worldSizeProblem(const ParallelSpec& parallel, int64_t world);

// The Fashion-MNIST files a directory must hold (each plain or with .gz).
const std::vector<std::string>& fashionMnistFiles();

}  // namespace mlcp::jobs
