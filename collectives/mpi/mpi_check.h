// One check for every MPI call: a failure throws CommError with MPI's own message
// (MPI_Error_string), the operation and where it happened.
#pragma once

#include <mpi.h>

#include <string>

namespace mlcp::collectives {

// Throws CommError("<what> on rank R: <MPI's message>") unless rc == MPI_SUCCESS.
void checkMpi(int rc, const std::string& what, int rank);

// MPI's message for an error code.
std::string mpiErrorString(int rc);

}  // namespace mlcp::collectives

#define MLCP_MPI_CHECK(call, what, rank) ::mlcp::collectives::checkMpi((call), (what), (rank))
