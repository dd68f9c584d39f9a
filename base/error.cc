#include "base/error.h"

namespace mlcp {

int exitCodeFor(const std::exception& e) noexcept {
  if (dynamic_cast<const UsageError*>(&e) != nullptr) return kExitUsage;
  return kExitFailure;
}

}  // namespace mlcp
