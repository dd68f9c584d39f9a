#include "collectives/ucx/ucx_check.h"

#include <fmt/format.h>

#include "base/error.h"

namespace mlcp::collectives::ucx {

std::string ucsStatusString(ucs_status_t status) {
  return fmt::format("{} (UCX status {})", ucs_status_string(status), static_cast<int>(status));
}

void checkUcs(ucs_status_t status, const std::string& what) {
  if (status == UCS_OK) return;
  throw CommError(fmt::format("{}: {}", what, ucsStatusString(status)));
}

}  // namespace mlcp::collectives::ucx
