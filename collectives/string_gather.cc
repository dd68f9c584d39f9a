#include "collectives/string_gather.h"

#include <cstring>

namespace mlcp::collectives {

std::vector<std::string> allgatherStrings(Communicator& comm, const std::string& mine,
                                          const CollectiveOptions& opts) {
  if (comm.size() == 1) return {mine};  // every step's state hash on one process: no round trip
  int64_t len = static_cast<int64_t>(mine.size());
  comm.allreduce(&len, 1, DataType::kInt64, ReduceOp::kMax, opts);
  // Each slot: 8 bytes of length, then the padded text.
  const int64_t slot = len + 8;
  std::string send(static_cast<size_t>(slot), '\0');
  const int64_t my_len = static_cast<int64_t>(mine.size());
  std::memcpy(send.data(), &my_len, 8);
  std::memcpy(send.data() + 8, mine.data(), mine.size());
  std::string all(static_cast<size_t>(slot * comm.size()), '\0');
  comm.allgather(send.data(), all.data(), slot, DataType::kUInt8, opts);
  std::vector<std::string> out;
  for (int r = 0; r < comm.size(); ++r) {
    int64_t n = 0;
    std::memcpy(&n, all.data() + r * slot, 8);
    out.push_back(all.substr(static_cast<size_t>(r * slot + 8), static_cast<size_t>(n)));
  }
  return out;
}

}  // namespace mlcp::collectives
