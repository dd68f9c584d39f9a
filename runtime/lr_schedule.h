// Learning-rate schedules: a pure function of the step, so every rank and every replay agrees.
//   constant: lr
//   linear:   warm-up from 0, then linear decay to min_lr_ratio*lr at the last step
//   cosine:   warm-up from 0, then half a cosine down to min_lr_ratio*lr at the last step
// Warm-up is linear over warmup_steps: lr * (step+1) / warmup_steps.
#pragma once

#include <cstdint>
#include <string>

namespace mlcp::runtime {

struct LrSchedule {
  std::string kind = "constant";
  double base_lr = 1e-3;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double min_lr_ratio = 0.1;
  // The cosine from ops::cosPi (the same bits on every machine) instead of the C library's
  // (whose x86-64 versions are picked by CPU features): the reproducible operator set's choice.
  bool reproducible = false;

  double at(int64_t step) const;
};

}  // namespace mlcp::runtime
