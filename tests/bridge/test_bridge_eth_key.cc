// Keys, addresses and signatures: anvil's well-known account 0, EIP-55 vectors from the EIP,
// EIP-191 digests, key files (0600, refused when group/world readable).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "base/error.h"
#include "bridge/eth_key.h"
#include "bridge/keccak.h"
#include "tests/common/test_util.h"

namespace mlcp::bridge {
namespace {

const char* kAnvilKey0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

TEST(EthKey, AnvilAccountZeroAddress) {
  EthKey k = EthKey::fromHex(kAnvilKey0);
  EXPECT_EQ(k.addressHex(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
  EthKey k1 = EthKey::fromHex("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
  EXPECT_EQ(k1.addressHex(), "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
}

TEST(EthKey, RejectsInvalidSecrets) {
  EXPECT_THROW(EthKey::fromHex("0x" + std::string(64, '0')), UsageError);
  // The curve order n itself is not a valid key.
  EXPECT_THROW(
      EthKey::fromHex("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"),
      UsageError);
  EXPECT_THROW(EthKey::fromHex("0x1234"), UsageError);
}

TEST(Address, Eip55Vectors) {
  for (const char* a :
       {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"}) {
    Address parsed = parseAddress(a);
    EXPECT_EQ(checksumAddress(parsed), a);
  }
  // All-lower and all-upper carry no checksum and are accepted.
  EXPECT_NO_THROW(parseAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"));
  EXPECT_NO_THROW(parseAddress("0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"));
  // One flipped letter case breaks the checksum.
  try {
    parseAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "--to");
    FAIL() << "a wrong checksum was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--to"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parseAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea"), UsageError);
  EXPECT_THROW(parseAddress("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed00"), UsageError);
}

TEST(Signing, Eip191DigestAndRecovery) {
  // ethers' hashMessage("hello world").
  std::string msg = "hello world";
  EXPECT_EQ(toHex(personalSignDigest(reinterpret_cast<const uint8_t*>(msg.data()), msg.size())),
            "0xd9eba16ed0ecae432b71fe008c98cc872bb4cc214d3220a36f365326cf807d68");
  EthKey k = EthKey::fromHex(kAnvilKey0);
  Hash32 d = keccak256("a commitment");
  Signature s = k.sign(d);
  EXPECT_EQ(recoverAddress(d, s), k.address());
  // Deterministic (RFC 6979): the same digest gives the same signature.
  EXPECT_EQ(k.sign(d).toRsv(), s.toRsv());
  EXPECT_EQ(Signature::fromRsv(s.toRsv()).r, s.r);
  // A different digest recovers some other address, never the signer's.
  Hash32 other = keccak256("another commitment");
  EXPECT_NE(recoverAddress(other, s), k.address());
  // s is in the lower half of the order (EIP-2).
  EXPECT_LT(s.s[0], 0x80);
}

TEST(KeyFile, WrittenPrivateAndLoadedBack) {
  test::TempDir dir("mlcp-ethkey");
  std::string path = dir.file("sub/solver.key");
  EthKey k = EthKey::generate();
  k.save(path, false);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EthKey back = EthKey::load(path);
  EXPECT_EQ(back.address(), k.address());
  EXPECT_THROW(k.save(path, false), UsageError);
  EXPECT_NO_THROW(k.save(path, true));
}

TEST(KeyFile, RefusedWhenOthersCanRead) {
  test::TempDir dir("mlcp-ethkey");
  std::string path = dir.file("k.key");
  EthKey::fromHex(kAnvilKey0).save(path, false);
  for (mode_t mode : {0640, 0604, 0660}) {
    ::chmod(path.c_str(), mode);
    try {
      EthKey::load(path);
      FAIL() << "mode " << std::oct << mode << " accepted";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("chmod 600"), std::string::npos) << e.what();
    }
  }
}

TEST(KeyFile, MalformedOrInconsistentOrBareHex) {
  test::TempDir dir("mlcp-ethkey");
  auto write = [&](const std::string& name, const std::string& text) {
    std::string p = dir.file(name);
    std::ofstream(p) << text;
    ::chmod(p.c_str(), 0600);
    return p;
  };
  EXPECT_THROW(EthKey::load(dir.file("missing.key")), UsageError);
  EXPECT_THROW(EthKey::load(write("a", "private: 0x1234\n")), UsageError);
  EXPECT_THROW(EthKey::load(write("b", "colour: blue\n")), UsageError);
  EXPECT_THROW(
      EthKey::load(
          write("c", std::string("address: 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\nprivate: ") +
                         kAnvilKey0 + "\n")),
      UsageError);
  EXPECT_EQ(EthKey::load(write("d", std::string(kAnvilKey0) + "\n")).addressHex(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
}

}  // namespace
}  // namespace mlcp::bridge
