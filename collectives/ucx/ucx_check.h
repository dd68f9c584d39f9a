// One check for every UCX call: a failure throws CommError with UCX's own message
// (ucs_status_string), the operation and the peer where there is one.
#pragma once

#include <ucs/type/status.h>

#include <string>

namespace mlcp::collectives::ucx {

// UCX's message for a status ("Destination is unreachable", "Connection reset by remote peer").
std::string ucsStatusString(ucs_status_t status);

// Throws CommError("<what>: <UCX's message>") unless status == UCS_OK.
void checkUcs(ucs_status_t status, const std::string& what);

}  // namespace mlcp::collectives::ucx

#define MLCP_UCS_CHECK(call, what) ::mlcp::collectives::ucx::checkUcs((call), (what))
