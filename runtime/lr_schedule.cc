#include "runtime/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "ops/random.h"

namespace mlcp::runtime {

double LrSchedule::at(int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps) {
    return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  }
  if (kind == "constant") return base_lr;
  const double span = static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  const double t = std::clamp(static_cast<double>(step - warmup_steps) / span, 0.0, 1.0);
  const double floor = base_lr * min_lr_ratio;
  if (kind == "linear") return floor + (base_lr - floor) * (1.0 - t);
  // cosine
  const double cosine = reproducible ? ops::cosPi(t) : std::cos(M_PI * t);
  return floor + (base_lr - floor) * 0.5 * (1.0 + cosine);
}

}  // namespace mlcp::runtime
