// Strings of any length from every rank onto every rank, in rank order (checkpoint manifests'
// entries, per-step parameter hashes): one MAX allreduce of the lengths, then one allgather of
// equal slots.
#pragma once

#include <string>
#include <vector>

#include "collectives/communicator.h"

namespace mlcp::collectives {

// Collective over `comm`. One rank returns {mine} with no communication.
std::vector<std::string> allgatherStrings(Communicator& comm, const std::string& mine,
                                          const CollectiveOptions& opts = {});

}  // namespace mlcp::collectives
