// What rank 0 shows while a job trains. Live: one line rewritten in place (step, loss,
// samples/s, ETA). Lines: one plain line every `log_every` steps (a log file, Slurm output).
// Auto picks live only for a process started by hand on a terminal: under mpirun every rank's
// stdout is a pseudo-terminal even when mpirun's output goes to a file, so a launcher's
// environment (OMPI_COMM_WORLD_*, SLURM_PROCID, PMIX_RANK) means lines. `--no-progress` hides the
// step lines but keeps the messages (evaluations, checkpoints, resume). Other ranks show nothing;
// their numbers go to their metrics files.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace mlcp::runtime {

enum class ProgressStyle { kAuto, kLive, kLines };

class ProgressReporter {
 public:
  // `reporter`: this process prints (rank 0); `show_steps`: step lines too, not only messages.
  ProgressReporter(bool reporter, bool show_steps, int64_t total_steps, int64_t log_every,
                   ProgressStyle style = ProgressStyle::kAuto, std::FILE* out = stdout);

  void step(int64_t step, double loss, double lr, double samples_per_s);
  // A line that must stay on screen (evaluation results, checkpoints); ends the live line first.
  void message(const std::string& text);
  // Appended to every later step line after " | " (the volunteers' counts); "" = nothing.
  void setSuffix(std::string suffix) { suffix_ = std::move(suffix); }
  void finish();

 private:
  std::string eta(int64_t step) const;

  bool reporter_, show_steps_, tty_;
  int64_t total_steps_, log_every_;
  std::FILE* out_;
  bool live_line_open_ = false;
  std::chrono::steady_clock::time_point start_;
  std::string suffix_;
};

}  // namespace mlcp::runtime
