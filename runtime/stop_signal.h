// A polite stop: SIGTERM, SIGINT (Ctrl-C) or SIGUSR1 (what Slurm sends before a time limit or
// preemption, with `#SBATCH --signal=USR1@SECONDS`, and what mpirun and srun forward to their
// ranks) asks the trainer to finish the current step, write a checkpoint and exit with
// kExitStopped; `mlcp run --resume` then continues bit for bit. A second SIGINT ends the process
// at once. mpirun sends SIGKILL odls_base_sigkill_timeout (1 s) after forwarding SIGTERM or
// SIGINT, so a step and checkpoint longer than that are stopped with SIGUSR1 to the ranks or
// under srun, which waits for them (docs/operations.md). The handler only sets a flag; the ranks
// agree on it inside a collective the step already makes, so they all stop after the same step.
#pragma once

#include <csignal>

namespace mlcp::runtime {

class StopSignal {
 public:
  StopSignal();   // installs the handlers
  ~StopSignal();  // restores the previous ones
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  bool requested() const;
  int signal() const;        // the signal received, 0 if none
  const char* name() const;  // "SIGTERM", "SIGINT", "SIGUSR1"

 private:
  struct sigaction old_term_ = {};
  struct sigaction old_int_ = {};
  struct sigaction old_usr1_ = {};
};

}  // namespace mlcp::runtime
