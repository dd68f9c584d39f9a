// `mlcp keys` and `mlcp verify checkpoint`, parsed in-process through the app's own
// registration functions (app/commands.h), without starting the binary.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "app/commands.h"
#include "base/error.h"
#include "tests/common/test_util.h"
#include "verify/checkpoint.h"

namespace mlcp::verify {
namespace {

using mlcp::test::TempDir;

// Runs `mlcp ARGS...` through a fresh CLI::App with only the key and verify commands; returns
// stdout.
std::string runMlcp(std::vector<std::string> args) {
  CLI::App app{"mlcp"};
  app.require_subcommand(1);
  app::addKeyCommands(app);
  app::addVerifyCheckpointCommand(*app.add_subcommand("verify"));
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  testing::internal::CaptureStdout();
  try {
    app.parse(reversed);
  } catch (...) {
    testing::internal::GetCapturedStdout();
    throw;
  }
  return testing::internal::GetCapturedStdout();
}

TEST(KeysCommand, NewThenShow) {
  TempDir dir;
  std::string path = dir.file("keys/node.key");
  std::string out = runMlcp({"keys", "new", "--out", path});
  EXPECT_NE(out.find("key file:   " + path), std::string::npos) << out;
  KeyPair k = KeyPair::load(path);
  EXPECT_NE(out.find("public key: " + k.publicKeyHex()), std::string::npos) << out;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  EXPECT_EQ(runMlcp({"keys", "show", path}), out);
  EXPECT_THROW(runMlcp({"keys", "new", "--out", path}), UsageError);
  EXPECT_EQ(KeyPair::load(path).publicKeyHex(), k.publicKeyHex());
  std::string out2 = runMlcp({"keys", "new", "--out", path, "--force"});
  EXPECT_NE(KeyPair::load(path).publicKeyHex(), k.publicKeyHex());

  ::chmod(path.c_str(), 0644);
  try {
    runMlcp({"keys", "show", path});
    ADD_FAILURE() << "a 0644 key file was accepted";
  } catch (const UsageError& e) {
    EXPECT_EQ(exitCodeFor(e), kExitUsage);
  }
}

TEST(KeysCommand, DefaultPathFromEnvironment) {
  TempDir dir;
  std::string path = dir.file("env.key");
  ::setenv("MLCP_KEY_FILE", path.c_str(), 1);
  std::string out = runMlcp({"keys", "new"});
  EXPECT_NE(out.find(path), std::string::npos) << out;
  EXPECT_EQ(runMlcp({"keys", "show"}), out);
  ::unsetenv("MLCP_KEY_FILE");
}

TEST(VerifyCommand, CheckpointOkAndCorrupt) {
  TempDir run;
  KeyPair key = KeyPair::generate();
  std::vector<float> w(1000);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i) * 0.5f;
  std::string tmp = beginCheckpoint(run.path(), 10);
  auto entries = writeShard(tmp, 0, {TensorView{"w", DType::kFloat32, {10, 100}, w.data(), 4000}});
  CommitResult c = commitCheckpoint(run.path(), 10, entries, "job", "plan", key);
  std::string out = runMlcp({"verify", "checkpoint", c.dir});
  EXPECT_NE(out.find("root:       " + c.manifest.root.hex()), std::string::npos) << out;
  EXPECT_NE(out.find("\nOK\n"), std::string::npos) << out;
  EXPECT_NO_THROW(runMlcp({"verify", "checkpoint", c.dir, "--signer", key.publicKeyHex()}));
  EXPECT_THROW(
      runMlcp({"verify", "checkpoint", c.dir, "--signer", KeyPair::generate().publicKeyHex()}),
      VerificationError);
  std::filesystem::remove(c.dir + "/manifest.json");
  EXPECT_THROW(runMlcp({"verify", "checkpoint", c.dir}), VerificationError);
}

// One flipped bit in a tensor's stored bytes (not in HDF5's metadata): `verify checkpoint` must
// fail naming the tensor and the shard file.
TEST(VerifyCommand, AFlippedDataBitIsFound) {
  TempDir run;
  KeyPair key = KeyPair::generate();
  std::vector<float> w(4096);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 1.0f + static_cast<float>(i) * 0.25f;
  std::string tmp = beginCheckpoint(run.path(), 10);
  auto entries = writeShard(tmp, 0, {TensorView{"w", DType::kFloat32, {64, 64}, w.data(), 16384}});
  CommitResult c = commitCheckpoint(run.path(), 10, entries, "job", "plan", key);
  EXPECT_NO_THROW(runMlcp({"verify", "checkpoint", c.dir}));
  // Find the tensor's bytes in the file by a run of its values, and flip one bit in the middle.
  const std::string shard = c.dir + "/shard-00000.h5";
  std::string bytes = test::readFile(shard);
  const std::string needle(reinterpret_cast<const char*>(w.data() + 2000), 64);
  const size_t at = bytes.find(needle);
  ASSERT_NE(at, std::string::npos) << "the tensor's bytes are not stored contiguously";
  bytes[at + 17] = static_cast<char>(bytes[at + 17] ^ 0x08);
  test::writeFile(shard, bytes);
  try {
    runMlcp({"verify", "checkpoint", c.dir});
    FAIL() << "a flipped data bit was not found";
  } catch (const VerificationError& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'w' in " + c.dir + "/shard-00000.h5 has hash"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace mlcp::verify
