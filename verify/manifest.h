// The checkpoint manifest: which tensors a checkpoint holds, where, with which hashes, the
// Merkle root over them, and the signer's ed25519 signature.
//
// Canonical bytes: the manifest as a JSON object, keys sorted (bytewise), no whitespace,
// strings UTF-8 with only '"', '\\' and control characters escaped (nlohmann::json::dump(),
// the same as Python's json.dumps(m, sort_keys=True, separators=(",", ":"),
// ensure_ascii=False)), tensors sorted by name. The file on disk is that object pretty-printed;
// verification re-canonicalises what it parsed, so the formatting of the file does not matter.
//
// Signature: ed25519 over kManifestSigningDomain || canonical bytes of the manifest without its
// "signature" field (so it covers format_version, step, job spec, plan, every tensor entry, the
// root and signer_public_key).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "verify/hash.h"
#include "verify/node_key.h"

namespace mlcp::verify {

// Version 2 adds job_path and data_hash, version 3 the operator set (ops); version 1 manifests
// (job path inside plan_text after "; source ") and version 2 ones are still read and verified.
constexpr int kManifestFormatVersion = 3;
constexpr const char* kManifestSigningDomain = "mlcp checkpoint manifest v1\n";

struct TensorEntry {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  Hash256 hash;
  std::string file;     // shard file name relative to the checkpoint folder ("shard-00001.h5")
  std::string dataset;  // HDF5 dataset path inside that file ("/params/layers.1.weight")

  bool operator==(const TensorEntry& o) const {
    return name == o.name && dtype == o.dtype && shape == o.shape && hash == o.hash &&
           file == o.file && dataset == o.dataset;
  }
};

nlohmann::json toJson(const TensorEntry& e);
// Throws VerificationError naming the field when `j` is not a valid entry.
TensorEntry tensorEntryFromJson(const nlohmann::json& j);

// Entries as a compact JSON array string, to gather them from ranks to the committing rank.
std::string encodeEntries(const std::vector<TensorEntry>& entries);
std::vector<TensorEntry> decodeEntries(const std::string& text);

struct CheckpointManifest {
  int format_version = kManifestFormatVersion;
  int64_t step = 0;
  std::string job_spec_text;
  std::string job_path;   // where the job file was read from (informational)
  std::string plan_text;  // the placement (informational)
  // BLAKE2b-256 (hex) of the training data's content (data::DataSplits::content_hash); "" when
  // the writer did not know it.
  std::string data_hash;
  // The operator set and its version ("reproducible (mlcp ops 1)"); version 1 and 2 manifests
  // predate the choice: their runs used LibTorch's kernels (native).
  std::string ops;
  std::vector<TensorEntry> tensors;  // sorted by name in canonical form
  Hash256 root;
  std::string signer_public_key;  // 64 hex digits
  std::string signature;          // 128 hex digits

  // The job file's path: job_path, or for a version 1 manifest the text after "; source " in
  // plan_text.
  std::string jobPath() const;
  // Canonical JSON of everything except the signature.
  std::string signedBytes() const;
  // The manifest (with signature) as JSON; indent < 0 gives the canonical compact form.
  std::string toJson(int indent = 2) const;
  // Throws VerificationError for malformed JSON or a missing/mistyped field.
  static CheckpointManifest fromJson(const std::string& text);

  // The Merkle root of `tensors` (names and hashes).
  Hash256 computeRoot() const;
  // Sorts tensors, sets signer_public_key, then the signature.
  void sign(const KeyPair& key);
  // Throws VerificationError when the signature is not signer_public_key's signature of
  // signedBytes(), or when `expected_signer` (hex) is given and is not the signer.
  void verifySignature(const std::optional<std::string>& expected_signer = std::nullopt) const;
};

}  // namespace mlcp::verify
