#include <gtest/gtest.h>

#include "base/error.h"
#include "verify/manifest.h"
#include "verify/merkle.h"

namespace mlcp::verify {
namespace {

CheckpointManifest sample() {
  CheckpointManifest m;
  m.step = 100;
  m.job_spec_text = "[model]\nname = \"mlp\"\n# ünïcode and \"quotes\"\t\n";
  m.plan_text = "dp=2 pp=1 tp=1";
  m.tensors.push_back(TensorEntry{
      "params/b", DType::kFloat32, {3}, blake2b256("b"), "shard-00001.h5", "/params/b"});
  m.tensors.push_back(
      TensorEntry{"params/a", DType::kInt64, {}, blake2b256("a"), "shard-00000.h5", "/params/a"});
  m.root = m.computeRoot();
  return m;
}

TEST(Manifest, JsonRoundTripAndCanonicalForm) {
  KeyPair key = KeyPair::generate();
  CheckpointManifest m = sample();
  m.sign(key);
  EXPECT_EQ(m.tensors[0].name, "params/a") << "sign() sorts tensors by name";
  CheckpointManifest back = CheckpointManifest::fromJson(m.toJson());
  EXPECT_EQ(back.toJson(-1), m.toJson(-1));
  EXPECT_EQ(back.signedBytes(), m.signedBytes());
  EXPECT_EQ(back.tensors, m.tensors);
  EXPECT_NO_THROW(back.verifySignature());
  // Canonical: sorted keys, compact, no signature.
  std::string s = m.signedBytes();
  EXPECT_EQ(s.rfind("{\"data_hash\":\"\",\"format_version\":3,\"job_path\":", 0), 0u) << s;
  EXPECT_EQ(s.find("signature\""), std::string::npos) << s;
  EXPECT_EQ(s.find('\n'), std::string::npos);
}

// Checkpoints written before format version 2 (no job_path, no data_hash; the job's path after
// "; source " in plan_text) still parse and verify.
TEST(Manifest, VersionOneStillVerifies) {
  const KeyPair key = KeyPair::generate();
  CheckpointManifest m = sample();
  m.format_version = 1;
  m.plan_text = "data-parallel over 2 ranks; source jobs/old.toml";
  m.sign(key);
  const std::string text = m.toJson();
  EXPECT_EQ(text.find("job_path"), std::string::npos) << text;
  CheckpointManifest back = CheckpointManifest::fromJson(text);
  EXPECT_NO_THROW(back.verifySignature());
  EXPECT_EQ(back.jobPath(), "jobs/old.toml");
  // A version 1 manifest that carries a version 2 field is refused (it was not signed so).
  std::string forged = text;
  forged.insert(forged.find('{') + 1, "\"data_hash\": \"\",");
  EXPECT_THROW(CheckpointManifest::fromJson(forged), VerificationError);
}

// Version 2 manifests (before the operator set was recorded) still verify; their runs used
// LibTorch's kernels. One that carries the version 3 field is refused.
TEST(Manifest, VersionTwoStillVerifies) {
  const KeyPair key = KeyPair::generate();
  CheckpointManifest m = sample();
  m.format_version = 2;
  m.ops = "reproducible (mlcp ops 1)";
  m.sign(key);
  const std::string text = m.toJson();
  EXPECT_EQ(text.find("\"ops\""), std::string::npos) << text;
  CheckpointManifest back = CheckpointManifest::fromJson(text);
  EXPECT_NO_THROW(back.verifySignature());
  EXPECT_EQ(back.ops, "");
  std::string forged = text;
  forged.insert(forged.find('{') + 1, "\"ops\": \"native\",");
  EXPECT_THROW(CheckpointManifest::fromJson(forged), VerificationError);
}

TEST(Manifest, FormattingOfTheFileDoesNotMatter) {
  KeyPair key = KeyPair::generate();
  CheckpointManifest m = sample();
  m.sign(key);
  EXPECT_NO_THROW(CheckpointManifest::fromJson(m.toJson(-1)).verifySignature());
  EXPECT_NO_THROW(CheckpointManifest::fromJson(m.toJson(7)).verifySignature());
}

TEST(Manifest, EveryFieldIsCoveredBySignature) {
  KeyPair key = KeyPair::generate();
  CheckpointManifest m = sample();
  m.sign(key);
  std::vector<std::pair<std::string, void (*)(CheckpointManifest&)>> edits = {
      {"step", [](CheckpointManifest& x) { x.step += 1; }},
      {"job_spec_text", [](CheckpointManifest& x) { x.job_spec_text += " "; }},
      {"plan_text", [](CheckpointManifest& x) { x.plan_text = "dp=1"; }},
      {"tensor hash", [](CheckpointManifest& x) { x.tensors[1].hash.bytes[0] ^= 1; }},
      {"tensor file", [](CheckpointManifest& x) { x.tensors[1].file = "shard-00002.h5"; }},
      {"tensor dataset", [](CheckpointManifest& x) { x.tensors[0].dataset = "/x"; }},
      {"tensor shape",
       [](CheckpointManifest& x) {
         x.tensors[1].shape = {1, 3};
       }},
      {"tensor dtype", [](CheckpointManifest& x) { x.tensors[1].dtype = DType::kInt32; }},
      {"tensor name", [](CheckpointManifest& x) { x.tensors[1].name = "params/c"; }},
      {"root", [](CheckpointManifest& x) { x.root.bytes[31] ^= 1; }},
      {"signature",
       [](CheckpointManifest& x) { x.signature[0] = x.signature[0] == '0' ? '1' : '0'; }},
  };
  for (const auto& [what, edit] : edits) {
    CheckpointManifest t = CheckpointManifest::fromJson(m.toJson());
    edit(t);
    EXPECT_THROW(t.verifySignature(), VerificationError)
        << "editing the " << what << " went unnoticed";
  }
}

TEST(Manifest, WrongKeyAndExpectedSigner) {
  KeyPair key = KeyPair::generate();
  KeyPair other = KeyPair::generate();
  CheckpointManifest m = sample();
  m.sign(key);
  EXPECT_NO_THROW(m.verifySignature(key.publicKeyHex()));
  EXPECT_THROW(m.verifySignature(other.publicKeyHex()), VerificationError);
  // Replacing the signer with another key (whose signature this is not) is refused.
  CheckpointManifest forged = m;
  forged.signer_public_key = other.publicKeyHex();
  EXPECT_THROW(forged.verifySignature(), VerificationError);
}

TEST(Manifest, MalformedJsonIsAVerificationError) {
  EXPECT_THROW(CheckpointManifest::fromJson(""), VerificationError);
  EXPECT_THROW(CheckpointManifest::fromJson("{\"format_version\":1"), VerificationError);
  EXPECT_THROW(CheckpointManifest::fromJson("[]"), VerificationError);
  KeyPair key = KeyPair::generate();
  CheckpointManifest m = sample();
  m.sign(key);
  std::string text = m.toJson(-1);
  std::string no_root = text;
  size_t at = no_root.find("\"root\"");
  no_root.replace(at, 6, "\"ROOT\"");
  EXPECT_THROW(CheckpointManifest::fromJson(no_root), VerificationError);
  std::string extra = text;
  extra.insert(1, "\"unsigned_extra\":1,");
  EXPECT_THROW(CheckpointManifest::fromJson(extra), VerificationError);
  std::string negative = text;
  size_t shape_at = negative.find("\"shape\":[3]");
  ASSERT_NE(shape_at, std::string::npos) << text;
  negative.replace(shape_at, 11, "\"shape\":[-3]");
  EXPECT_THROW(CheckpointManifest::fromJson(negative), VerificationError);
}

TEST(Manifest, EntriesEncodeAndDecode) {
  CheckpointManifest m = sample();
  EXPECT_EQ(decodeEntries(encodeEntries(m.tensors)), m.tensors);
  EXPECT_TRUE(decodeEntries(encodeEntries({})).empty());
  EXPECT_THROW(decodeEntries("{"), VerificationError);
}

// Found by tests/fuzz/fuzz_manifest: nlohmann casts a JSON float to an integer (undefined
// behaviour out of range: {"step":1e300}) and wraps integers that do not fit (format_version
// 4294967299 read as 3). Integer fields must be JSON integers in range.
TEST(Manifest, IntegerFieldsMustBeJsonIntegersThatFit) {
  KeyPair key = KeyPair::generate();
  CheckpointManifest m = sample();
  m.sign(key);
  const std::string text = m.toJson(-1);
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"\"step\":100", "\"step\":1e300"},
      {"\"step\":100", "\"step\":100.0"},
      {"\"step\":100", "\"step\":18446744073709551615"},
      {"\"format_version\":3", "\"format_version\":1e300"},
      {"\"format_version\":3", "\"format_version\":4294967299"},
      {"\"shape\":[3]", "\"shape\":[3.5]"},
      {"\"shape\":[3]", "\"shape\":[1e300]"}};
  for (const auto& [from, to] : edits) {
    std::string edited = text;
    const size_t at = edited.find(from);
    ASSERT_NE(at, std::string::npos) << from << " in " << text;
    edited.replace(at, from.size(), to);
    try {
      CheckpointManifest::fromJson(edited);
      ADD_FAILURE() << "accepted " << to;
    } catch (const VerificationError& e) {
      EXPECT_NE(std::string(e.what()).find("must be an integer"), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(CheckpointManifest::fromJson(text).verifySignature());
}

}  // namespace
}  // namespace mlcp::verify
