// `mlcp plot RUN_DIR`: the training loss per step and the evaluation loss/accuracy, read from
// rank 0's metrics file, drawn with cairo into a PNG a person can look at.
#pragma once

#include <string>

namespace mlcp::runtime {

// Draws RUN_DIR/metrics/rank-00000.jsonl into `png_path`. Throws UsageError when the run
// directory holds no metrics.
void plotRun(const std::string& run_dir, const std::string& png_path);

}  // namespace mlcp::runtime
