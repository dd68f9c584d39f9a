#include "runtime/state_chain.h"

#include <cstring>

#include "base/error.h"
#include "collectives/string_gather.h"

namespace mlcp::runtime {

verify::Hash256 stateDigest(const std::vector<verify::Hash256>& parameter_hashes) {
  verify::Blake2b256 h;
  for (const auto& p : parameter_hashes) h.update(p.bytes.data(), p.bytes.size());
  return h.finish();
}

StateChain::StateChain(ModelState& state, collectives::Communicator& world,
                       collectives::CollectiveOptions opts)
    : state_(state), world_(world), opts_(opts) {}

StateChain::~StateChain() {
  if (in_flight_) local_.wait();
}

std::vector<verify::Hash256> StateChain::hashOwned(const std::vector<torch::Tensor>& sources) {
  std::vector<verify::Hash256> out(sources.size());
  for (size_t i = 0; i < sources.size(); ++i) {
    const auto& t = sources[i];
    if (!t.defined()) continue;
    out[i] = verify::hashTensor(verify::DType::kFloat32,
                                std::vector<int64_t>(t.sizes().begin(), t.sizes().end()),
                                t.data_ptr(), static_cast<size_t>(t.nbytes()));
  }
  return out;
}

verify::Hash256 StateChain::combine(const std::vector<verify::Hash256>& mine) {
  // Each rank sends the hashes of the parameters it owns, in parameter order; every rank then
  // takes parameter i's hash from its owner's list.
  std::string packed;
  for (size_t i = 0; i < mine.size(); ++i) {
    if (state_.ownerOf(i) == world_.rank()) {
      packed.append(reinterpret_cast<const char*>(mine[i].bytes.data()), mine[i].bytes.size());
    }
  }
  const auto parts = collectives::allgatherStrings(world_, packed, opts_);
  std::vector<verify::Hash256> ordered(mine.size());
  std::vector<size_t> cursor(parts.size(), 0);
  for (size_t i = 0; i < mine.size(); ++i) {
    const auto r = static_cast<size_t>(state_.ownerOf(i));
    if (parts.at(r).size() < cursor[r] + ordered[i].bytes.size()) {
      throw CommError("state digest: rank " + std::to_string(r) + " sent too few parameter hashes");
    }
    std::memcpy(ordered[i].bytes.data(), parts.at(r).data() + cursor[r], ordered[i].bytes.size());
    cursor[r] += ordered[i].bytes.size();
  }
  return stateDigest(ordered);
}

const verify::Hash256& StateChain::startFromCurrentState() {
  head_ = combine(hashOwned(state_.hashSources()));
  return head_;
}

void StateChain::begin() {
  require(!in_flight_, "StateChain::begin: a digest is already being computed");
  local_ = worker_.submit([sources = state_.hashSources()] { return hashOwned(sources); });
  in_flight_ = true;
}

StateChain::Link StateChain::finish() {
  require(in_flight_, "StateChain::finish: no digest was begun");
  in_flight_ = false;
  Link link;
  link.digest = combine(local_.get());
  head_ = verify::chainHash(head_, link.digest);
  link.chain = head_;
  return link;
}

}  // namespace mlcp::runtime
