#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "base/error.h"
#include "verify/merkle.h"

namespace mlcp::verify {
namespace {

std::vector<NamedHash> makeLeaves(size_t n) {
  std::vector<NamedHash> leaves;
  for (size_t i = 0; i < n; ++i) {
    std::string name = "layers." + std::to_string(i) + ".weight";
    leaves.emplace_back(name, blake2b256(name + "/data"));
  }
  return leaves;
}

TEST(Merkle, EmptyAndSingle) {
  EXPECT_EQ(merkleRoot({}), merkleEmptyRoot());
  const uint8_t two = 0x02;
  EXPECT_EQ(merkleEmptyRoot(), blake2b256(&two, 1));
  auto one = makeLeaves(1);
  EXPECT_EQ(merkleRoot(one), merkleLeaf(one[0].first, one[0].second));
}

TEST(Merkle, ThreeLeavesByHand) {
  // Sorted: a, b, c. Level 1: node(a,b), c promoted. Root: node(node(a,b), c).
  Hash256 ha = blake2b256("A"), hb = blake2b256("B"), hc = blake2b256("C");
  Hash256 expected =
      merkleNode(merkleNode(merkleLeaf("a", ha), merkleLeaf("b", hb)), merkleLeaf("c", hc));
  EXPECT_EQ(merkleRoot({{"c", hc}, {"a", ha}, {"b", hb}}), expected);
}

TEST(Merkle, LeafEncoding) {
  Hash256 h = blake2b256("x");
  std::string bytes(1, '\0');
  bytes += std::string("\x03\0\0\0\0\0\0\0", 8);
  bytes += "abc";
  bytes += std::string(reinterpret_cast<const char*>(h.bytes.data()), 32);
  EXPECT_EQ(merkleLeaf("abc", h), blake2b256(bytes));
}

TEST(Merkle, RootIndependentOfInputOrder) {
  for (size_t n : {2, 3, 5, 8, 13, 64, 100}) {
    auto leaves = makeLeaves(n);
    Hash256 root = merkleRoot(leaves);
    std::mt19937 rng(static_cast<unsigned>(n));
    for (int trial = 0; trial < 5; ++trial) {
      std::shuffle(leaves.begin(), leaves.end(), rng);
      EXPECT_EQ(merkleRoot(leaves), root) << "n=" << n << " trial=" << trial;
    }
  }
}

TEST(Merkle, SortIsBytewise) {
  // 'B' (0x42) < 'a' (0x61) < '\xc3' (UTF-8 lead byte, unsigned): bytewise, not locale order.
  Hash256 h = blake2b256("h");
  Hash256 expected =
      merkleNode(merkleNode(merkleLeaf("B", h), merkleLeaf("a", h)), merkleLeaf("\xc3\xa9", h));
  EXPECT_EQ(merkleRoot({{"\xc3\xa9", h}, {"a", h}, {"B", h}}), expected);
}

TEST(Merkle, AnyChangeChangesTheRoot) {
  auto leaves = makeLeaves(7);
  Hash256 root = merkleRoot(leaves);
  auto renamed = leaves;
  renamed[3].first += "x";
  EXPECT_NE(merkleRoot(renamed), root);
  auto rehashed = leaves;
  rehashed[6].second.bytes[31] ^= 1;
  EXPECT_NE(merkleRoot(rehashed), root);
  auto fewer = leaves;
  fewer.pop_back();
  EXPECT_NE(merkleRoot(fewer), root);
}

// The worked example of docs/checkpoint-format.md (values computed there with Python hashlib).
TEST(Merkle, DocWorkedExample) {
  const float w[6] = {0, 1, 2, 3, 4, 5};
  const float b[3] = {0.5f, -1.0f, 2.0f};
  const int64_t step = 100;
  Hash256 hw = hashTensor(TensorView{"params/w", DType::kFloat32, {2, 3}, w, sizeof(w)});
  Hash256 hb = hashTensor(TensorView{"params/b", DType::kFloat32, {3}, b, sizeof(b)});
  Hash256 hs = hashTensor(TensorView{"state/step", DType::kInt64, {}, &step, sizeof(step)});
  EXPECT_EQ(hb.hex(), "fef5c0556ef3dbbc6ec3088a2b46bdd1b475f7a67f5fc88ae50aa025876e5d31");
  EXPECT_EQ(hs.hex(), "4dbb2d4feeba66b5eb368b3e3709c3edece60f04e6071ba7a576de5a282e0742");
  EXPECT_EQ(merkleLeaf("params/b", hb).hex(),
            "1da6b3470927a4d587f253c927b6750f8caea69a84b455158fd89dce397e4114");
  EXPECT_EQ(merkleRoot({{"state/step", hs}, {"params/w", hw}, {"params/b", hb}}).hex(),
            "5981f2249facff0f08e2087862bfa751884a6914963f10cb1f69f9312981f169");
  EXPECT_EQ(merkleEmptyRoot().hex(),
            "bb30a42c1e62f0afda5f0a4e8a562f7a13a24cea00ee81917b86b89e801314aa");
}

TEST(Merkle, DuplicateNamesRefused) {
  Hash256 h = blake2b256("h");
  EXPECT_THROW(merkleRoot({{"a", h}, {"a", h}}), InvalidArgument);
}

TEST(Merkle, ProofsVerifyForEveryLeafAndSize) {
  for (size_t n = 1; n <= 17; ++n) {
    auto leaves = makeLeaves(n);
    Hash256 root = merkleRoot(leaves);
    for (const auto& [name, hash] : leaves) {
      MerkleProof p = merkleProve(leaves, name);
      EXPECT_TRUE(merkleVerify(p, root)) << "n=" << n << " leaf=" << name;
      MerkleProof bad_hash = p;
      bad_hash.tensor_hash.bytes[0] ^= 0x80;
      EXPECT_FALSE(merkleVerify(bad_hash, root)) << "n=" << n << " leaf=" << name;
      MerkleProof bad_name = p;
      bad_name.name += "!";
      EXPECT_FALSE(merkleVerify(bad_name, root));
      if (!p.siblings.empty()) {
        MerkleProof bad_sib = p;
        bad_sib.siblings.back().bytes[5] ^= 1;
        EXPECT_FALSE(merkleVerify(bad_sib, root));
        MerkleProof short_proof = p;
        short_proof.siblings.pop_back();
        EXPECT_FALSE(merkleVerify(short_proof, root));
      }
      if (n > 1) {
        MerkleProof moved = p;
        moved.leaf_index = (p.leaf_index + 1) % n;
        EXPECT_FALSE(merkleVerify(moved, root)) << "n=" << n << " leaf=" << name;
      }
    }
  }
  EXPECT_THROW(merkleProve(makeLeaves(3), "missing"), InvalidArgument);
}

}  // namespace
}  // namespace mlcp::verify
