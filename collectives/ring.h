// Ring algorithms over a Communicator's point-to-point calls — Gloo's split: the algorithm here,
// the transport in the communicator, the arithmetic in the caller (collectives/exact_sum.h adds
// int64 sums). A buffer of p blocks of `block` elements; every message is cut into chunks of
// `chunk` elements, so the caller's work overlaps the transfers; every wait honours the
// deadline of the CollectiveOptions.
//
// Reduce-scatter, as numbered steps, on rank r of p (right = r+1, left = r-1, mod p). For
// t = 0 .. p-2:
//  1. post the receives of block (r-2-t) mod p from the left and the sends of block (r-1-t) mod p
//     to the right, chunk by chunk; the caller says what to send at this step (its bytes and
//     type: the first step may send another type than the rest);
//  2. overlap(step) runs while the first chunks travel;
//  3. as each received chunk arrives (in order), combine(step, offset, n, received) folds it into
//     the caller's block;
//  4. every send completes.
// After the last step (t = p-2, whose recv_block is r) rank r holds block r complete.
// Allgather: for t = 0 .. p-2 rank r sends block (r-t) mod p and receives block (r-1-t) mod p
// into the same buffer; afterwards every rank holds every block.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "collectives/communicator.h"

namespace mlcp::collectives {

struct RingStep {
  int t = 0;               // 0 .. p-2
  int64_t send_block = 0;  // the block sent at this step
  int64_t recv_block = 0;  // the block received (and combined into) at this step
  bool last = false;       // t == p-2: recv_block is this rank's own
};

struct RingPayload {
  const void* data = nullptr;  // the whole block to send (block elements of `type`)
  DataType type = DataType::kFloat32;
};

class Ring {
 public:
  // `comm` is borrowed; `tag` is reserved for this ring's messages on it.
  Ring(Communicator& comm, int tag, int64_t chunk) : comm_(comm), tag_(tag), chunk_(chunk) {}

  void reduceScatter(int64_t block, const std::function<RingPayload(const RingStep&)>& send,
                     const std::function<void(const RingStep&)>& overlap,
                     const std::function<void(const RingStep&, int64_t offset, int64_t n,
                                              const void* received)>& combine,
                     const CollectiveOptions& opts);
  // `buffer` holds p blocks of `block` elements of `type`; this rank's block is complete.
  void allgather(void* buffer, int64_t block, DataType type, const CollectiveOptions& opts);

 private:
  Communicator& comm_;
  int tag_;
  int64_t chunk_;
  std::vector<uint8_t> received_;  // one block of the widest type sent so far
};

}  // namespace mlcp::collectives
