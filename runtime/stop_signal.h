// A polite stop: SIGTERM or SIGUSR1 (what Slurm sends before a time limit or preemption, with
// `#SBATCH --signal=USR1@SECONDS`, and what mpirun forwards to its ranks) asks the trainer to
// finish the current step, write a checkpoint and exit with kExitStopped; `mlcp run --resume`
// then continues bit for bit. The handler only sets a flag; the ranks agree on it inside a
// collective the step already makes, so they all stop after the same step.
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
  int signal() const;  // the signal received, 0 if none

 private:
  struct sigaction old_term_ {}, old_usr1_ {};
};

}  // namespace mlcp::runtime
