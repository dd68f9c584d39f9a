#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "base/error.h"
#include "tests/common/test_util.h"
#include "verify/node_key.h"

namespace mlcp::verify {
namespace {

using mlcp::test::TempDir;

int fileMode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

TEST(KeyPair, SignAndVerify) {
  KeyPair k = KeyPair::generate();
  Signature sig = k.sign("hello");
  EXPECT_TRUE(verifySignature(k.publicKey(), "hello", sig));
  EXPECT_FALSE(verifySignature(k.publicKey(), "hellO", sig));
  KeyPair other = KeyPair::generate();
  EXPECT_NE(other.publicKeyHex(), k.publicKeyHex());
  EXPECT_FALSE(verifySignature(other.publicKey(), "hello", sig));
  Signature bad = sig;
  bad[10] ^= 1;
  EXPECT_FALSE(verifySignature(k.publicKey(), "hello", bad));
}

TEST(KeyPair, SeedIsDeterministic) {
  std::array<uint8_t, 32> seed{};
  seed[0] = 1;
  EXPECT_EQ(KeyPair::fromSeed(seed).publicKeyHex(), KeyPair::fromSeed(seed).publicKeyHex());
  EXPECT_EQ(KeyPair::fromSeed(seed).publicKeyHex().size(), 64u);
}

TEST(KeyPair, SaveLoadRoundTripWithMode0600) {
  TempDir dir;
  std::string path = dir.file("sub/dir/node.key");
  KeyPair k = KeyPair::generate();
  k.save(path, false);
  EXPECT_EQ(fileMode(path), 0600);
  KeyPair loaded = KeyPair::load(path);
  EXPECT_EQ(loaded.publicKeyHex(), k.publicKeyHex());
  Signature sig = loaded.sign("m");
  EXPECT_TRUE(verifySignature(k.publicKey(), "m", sig));
}

TEST(KeyPair, RefusesToOverwriteWithoutForce) {
  TempDir dir;
  std::string path = dir.file("node.key");
  KeyPair a = KeyPair::generate();
  a.save(path, false);
  KeyPair b = KeyPair::generate();
  EXPECT_THROW(b.save(path, false), UsageError);
  EXPECT_EQ(KeyPair::load(path).publicKeyHex(), a.publicKeyHex());
  b.save(path, true);
  EXPECT_EQ(KeyPair::load(path).publicKeyHex(), b.publicKeyHex());
  EXPECT_EQ(fileMode(path), 0600);
}

TEST(KeyPair, RefusesGroupOrOtherReadableKeyFile) {
  TempDir dir;
  std::string path = dir.file("node.key");
  KeyPair::generate().save(path, false);
  for (int mode : {0644, 0640, 0604, 0660, 0610}) {
    ASSERT_EQ(::chmod(path.c_str(), static_cast<mode_t>(mode)), 0);
    try {
      KeyPair::load(path);
      ADD_FAILURE() << "a key file with mode " << std::oct << mode << " was accepted";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("chmod 600"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_NO_THROW(KeyPair::load(path));
}

TEST(KeyPair, MissingOrMalformedKeyFileIsAUsageError) {
  TempDir dir;
  EXPECT_THROW(KeyPair::load(dir.file("absent.key")), UsageError);
  std::string path = dir.file("bad.key");
  mlcp::test::writeFile(path, "seed: 1234\n");
  ::chmod(path.c_str(), 0600);
  EXPECT_THROW(KeyPair::load(path), UsageError);
  KeyPair k = KeyPair::generate();
  KeyPair other = KeyPair::generate();
  std::string good = dir.file("good.key");
  k.save(good, false);
  std::string text = mlcp::test::readFile(good);
  size_t at = text.find(k.publicKeyHex());
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 64, other.publicKeyHex());
  std::string mismatched = dir.file("mismatch.key");
  mlcp::test::writeFile(mismatched, text);
  ::chmod(mismatched.c_str(), 0600);
  EXPECT_THROW(KeyPair::load(mismatched), UsageError);
}

TEST(KeyPair, DefaultPathHonoursEnvironment) {
  ::setenv("MLCP_KEY_FILE", "/x/y.key", 1);
  EXPECT_EQ(defaultKeyPath(), "/x/y.key");
  ::unsetenv("MLCP_KEY_FILE");
  ::setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(defaultKeyPath(), "/home/someone/.config/mlcp/node.key");
}

}  // namespace
}  // namespace mlcp::verify
