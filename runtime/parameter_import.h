// Initialising a job from a PyTorch checkpoint (`mlcp run JOB --init-from FILE`, docs/export.md):
// the reverse of `mlcp export`. The file is a `state_dict` — a dictionary from parameter name to
// tensor, as `torch.save(model.state_dict(), FILE)` or `mlcp export` writes it — whose names are
// mlcp's (docs/export.md's table; python/mlcp_torch.py's modules have exactly these names). A
// leading "module." on every name (torch.nn.parallel.DistributedDataParallel's) is dropped.
//
// Strict, like `load_state_dict(strict=True)`: every parameter of the job's model must be in the
// file with its exact shape, and the file may hold nothing else; floating-point tensors of
// another type are converted to float32 (float16 and bfloat16 exactly, float64 rounded to
// nearest). Anything else is one UsageError naming the file and the first names that differ.
//
// The imported parameters replace the seed's before step 0; checkpoint 0 and the state chain
// start from them, so every party agrees on them before any work (a replay starts from
// checkpoint 0 like any other).
#pragma once

#include <string>

#include "runtime/model_state.h"

namespace mlcp::runtime {

// Copies the file's tensors into `params` (the model's, in the logical layout: no tensor
// parallelism). Returns the number of tensors imported.
int64_t importParameters(const std::string& path, const ModelState::Named& params);

}  // namespace mlcp::runtime
