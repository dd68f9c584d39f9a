#include "collectives/ring.h"

#include <algorithm>
#include <memory>

namespace mlcp::collectives {

void Ring::reduceScatter(int64_t block, const std::function<RingPayload(const RingStep&)>& send,
                         const std::function<void(const RingStep&)>& overlap,
                         const std::function<void(const RingStep&, int64_t offset, int64_t n,
                                                  const void* received)>& combine,
                         const CollectiveOptions& opts) {
  const int p = comm_.size(), r = comm_.rank();
  const int right = (r + 1) % p, left = (r - 1 + p) % p;
  auto mod = [p](int i) { return ((i % p) + p) % p; };
  std::vector<std::unique_ptr<Work>> sends, recvs;
  for (int t = 0; t < p - 1; ++t) {
    const RingStep step{t, mod(r - 1 - t), mod(r - 2 - t), t == p - 2};
    // 1.
    const RingPayload payload = send(step);
    const size_t width = dataTypeSize(payload.type);
    received_.resize(std::max(received_.size(), static_cast<size_t>(block) * width));
    sends.clear();
    recvs.clear();
    for (int64_t c = 0; c < block; c += chunk_) {
      const int64_t n = std::min(chunk_, block - c);
      recvs.push_back(comm_.irecv(received_.data() + static_cast<size_t>(c) * width, n,
                                  payload.type, left, tag_));
      sends.push_back(
          comm_.isend(static_cast<const uint8_t*>(payload.data) + static_cast<size_t>(c) * width, n,
                      payload.type, right, tag_));
    }
    // 2.
    overlap(step);
    // 3.
    for (size_t i = 0; i < recvs.size(); ++i) {
      recvs[i]->wait(opts);
      const int64_t c = static_cast<int64_t>(i) * chunk_;
      combine(step, c, std::min(chunk_, block - c),
              received_.data() + static_cast<size_t>(c) * width);
    }
    // 4.
    for (auto& w : sends) w->wait(opts);
  }
}

void Ring::allgather(void* buffer, int64_t block, DataType type, const CollectiveOptions& opts) {
  const int p = comm_.size(), r = comm_.rank();
  const int right = (r + 1) % p, left = (r - 1 + p) % p;
  auto mod = [p](int i) { return ((i % p) + p) % p; };
  auto* bytes = static_cast<uint8_t*>(buffer);
  const size_t width = dataTypeSize(type);
  std::vector<std::unique_ptr<Work>> sends, recvs;
  for (int t = 0; t < p - 1; ++t) {
    const int64_t send_at = mod(r - t) * block, recv_at = mod(r - 1 - t) * block;
    sends.clear();
    recvs.clear();
    for (int64_t c = 0; c < block; c += chunk_) {
      const int64_t n = std::min(chunk_, block - c);
      recvs.push_back(
          comm_.irecv(bytes + static_cast<size_t>(recv_at + c) * width, n, type, left, tag_));
      sends.push_back(
          comm_.isend(bytes + static_cast<size_t>(send_at + c) * width, n, type, right, tag_));
    }
    for (auto& w : recvs) w->wait(opts);
    for (auto& w : sends) w->wait(opts);
  }
}

}  // namespace mlcp::collectives
