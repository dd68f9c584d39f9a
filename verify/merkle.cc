#include "verify/merkle.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/error.h"

namespace mlcp::verify {
namespace {

// Sorts by name (std::string compares bytewise as unsigned char via char_traits<char>::compare,
// which is memcmp) and rejects duplicates.
void sortLeaves(std::vector<NamedHash>& leaves) {
  std::sort(leaves.begin(), leaves.end(),
            [](const NamedHash& a, const NamedHash& b) { return a.first < b.first; });
  for (size_t i = 1; i < leaves.size(); ++i) {
    if (leaves[i].first == leaves[i - 1].first) {
      throw InvalidArgument(
          fmt::format("tensor name '{}' appears twice in one checkpoint", leaves[i].first));
    }
  }
}

std::vector<Hash256> leafLevel(const std::vector<NamedHash>& sorted) {
  std::vector<Hash256> level;
  level.reserve(sorted.size());
  for (const auto& [name, hash] : sorted) level.push_back(merkleLeaf(name, hash));
  return level;
}

std::vector<Hash256> nextLevel(const std::vector<Hash256>& level) {
  std::vector<Hash256> up;
  up.reserve((level.size() + 1) / 2);
  for (size_t i = 0; i < level.size(); i += 2) {
    up.push_back(i + 1 < level.size() ? merkleNode(level[i], level[i + 1]) : level[i]);
  }
  return up;
}

}  // namespace

Hash256 merkleLeaf(const std::string& name, const Hash256& tensor_hash) {
  Blake2b256 h;
  h.updateU8(0x00);
  h.updateLe64(name.size());
  h.update(name);
  h.update(tensor_hash.bytes.data(), tensor_hash.bytes.size());
  return h.finish();
}

Hash256 merkleNode(const Hash256& left, const Hash256& right) {
  Blake2b256 h;
  h.updateU8(0x01);
  h.update(left.bytes.data(), left.bytes.size());
  h.update(right.bytes.data(), right.bytes.size());
  return h.finish();
}

Hash256 merkleEmptyRoot() {
  const uint8_t tag = 0x02;
  return blake2b256(&tag, 1);
}

Hash256 merkleRoot(std::vector<NamedHash> leaves) {
  if (leaves.empty()) return merkleEmptyRoot();
  sortLeaves(leaves);
  std::vector<Hash256> level = leafLevel(leaves);
  while (level.size() > 1) level = nextLevel(level);
  return level[0];
}

MerkleProof merkleProve(std::vector<NamedHash> leaves, const std::string& name) {
  sortLeaves(leaves);
  auto it = std::find_if(leaves.begin(), leaves.end(),
                         [&](const NamedHash& l) { return l.first == name; });
  if (it == leaves.end()) {
    throw InvalidArgument(fmt::format("tensor '{}' is not in the Merkle tree", name));
  }
  MerkleProof proof;
  proof.name = name;
  proof.tensor_hash = it->second;
  proof.leaf_index = static_cast<uint64_t>(it - leaves.begin());
  proof.leaf_count = leaves.size();
  std::vector<Hash256> level = leafLevel(leaves);
  uint64_t index = proof.leaf_index;
  while (level.size() > 1) {
    uint64_t partner = index ^ 1;
    if (partner < level.size()) proof.siblings.push_back(level[partner]);
    level = nextLevel(level);
    index >>= 1;
  }
  return proof;
}

bool merkleVerify(const MerkleProof& proof, const Hash256& root) {
  if (proof.leaf_count == 0 || proof.leaf_index >= proof.leaf_count) return false;
  Hash256 node = merkleLeaf(proof.name, proof.tensor_hash);
  uint64_t index = proof.leaf_index;
  uint64_t count = proof.leaf_count;
  size_t used = 0;
  while (count > 1) {
    uint64_t partner = index ^ 1;
    if (partner < count) {
      if (used >= proof.siblings.size()) return false;
      const Hash256& s = proof.siblings[used++];
      node = (index & 1) ? merkleNode(s, node) : merkleNode(node, s);
    }
    index >>= 1;
    count = (count + 1) / 2;
  }
  return used == proof.siblings.size() && node == root;
}

}  // namespace mlcp::verify
