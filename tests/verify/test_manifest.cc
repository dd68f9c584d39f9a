#include <gtest/gtest.h>

#include "runtime/error.h"
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
  EXPECT_EQ(s.rfind("{\"format_version\":1,\"job_spec_text\":", 0), 0u) << s;
  EXPECT_EQ(s.find("signature\""), std::string::npos) << s;
  EXPECT_EQ(s.find('\n'), std::string::npos);
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

}  // namespace
}  // namespace mlcp::verify
