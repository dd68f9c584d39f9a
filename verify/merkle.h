// The Merkle root over a checkpoint's (tensor name, tensor hash) pairs: the checkpoint's
// identity, the same for every placement that wrote it. Rules (docs/checkpoint-format.md):
//
//   1. Leaves are sorted by name, comparing the names' bytes (memcmp order). Names are unique.
//   2. leaf = BLAKE2b-256(0x00 || le64 len(name) || name || tensor_hash)
//   3. Level by level, pair neighbours: node = BLAKE2b-256(0x01 || left || right). A last node
//      without a partner is promoted to the next level unchanged (never duplicated, so no two
//      different leaf lists share a root).
//   4. The root is the single node left. One leaf: the root is that leaf.
//      No leaves: the root is BLAKE2b-256(0x02) (the one-byte string 0x02).
//
// A membership proof names one leaf and the sibling on every level where it has one; the
// verifier derives which side each sibling is on from (leaf_index, leaf_count), so a proof
// also binds the leaf's position.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "verify/hash.h"

namespace mlcp::verify {

using NamedHash = std::pair<std::string, Hash256>;

Hash256 merkleLeaf(const std::string& name, const Hash256& tensor_hash);
Hash256 merkleNode(const Hash256& left, const Hash256& right);
Hash256 merkleEmptyRoot();

// The root of `leaves`, in any order. Throws InvalidArgument on a duplicate name.
Hash256 merkleRoot(std::vector<NamedHash> leaves);

struct MerkleProof {
  std::string name;
  Hash256 tensor_hash;
  uint64_t leaf_index = 0;        // position of the leaf in name order
  uint64_t leaf_count = 0;        // number of leaves in the tree
  std::vector<Hash256> siblings;  // bottom-up, one per level where the path has a partner
};

// The proof that `name` is in the tree of `leaves`. Throws InvalidArgument when it is not.
MerkleProof merkleProve(std::vector<NamedHash> leaves, const std::string& name);

// True when `proof` leads to `root`. Never throws for a malformed proof; returns false.
bool merkleVerify(const MerkleProof& proof, const Hash256& root);

}  // namespace mlcp::verify
